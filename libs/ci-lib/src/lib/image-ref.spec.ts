import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKSPACE_CONFIG, registryTargetFor } from '@engex/workspace-config';
import { planImageRefs } from './image-ref.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('planImageRefs', () => {
  it('names the ECR image by the commit, locally and in the registry, primary tag first', () => {
    const refs = planImageRefs(registryTargetFor(DEFAULT_WORKSPACE_CONFIG), 'engex/halow', { primary: SHA, extra: ['1.4.0'] });
    expect(refs.local).toBe(`engex/halow:${SHA}`);
    expect(refs.name).toBe('460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow');
    expect(refs.dest).toBe(`460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow:${SHA}`);
    expect(refs.tags).toEqual([SHA, '1.4.0']);
    expect(refs.registry).toMatchObject({ kind: 'ecr', protocol: 'https' });
  });

  it('uses a plain registry from REGISTRY=host:port', () => {
    const refs = planImageRefs(registryTargetFor(DEFAULT_WORKSPACE_CONFIG, '127.0.0.1:5000'), 'engex/halow', { primary: SHA, extra: [] });
    expect(refs.dest).toBe(`127.0.0.1:5000/engex/halow:${SHA}`);
    expect(refs.registry).toEqual({ kind: 'plain', host: '127.0.0.1:5000', protocol: 'http' });
  });

  it('rejects a bad repository name', () => {
    expect(() => planImageRefs(registryTargetFor(DEFAULT_WORKSPACE_CONFIG), 'Engex/Halow', { primary: SHA, extra: [] })).toThrow(/repository: segment "Engex"/);
  });
});
