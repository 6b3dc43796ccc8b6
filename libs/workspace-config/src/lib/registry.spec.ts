import { describe, expect, it } from 'vitest';
import { ecrImageName, isLoopbackHost, parseRegistryOverride, registryTargetFor } from './registry.js';

describe('registryTargetFor', () => {
  it.each([
    ['us-east-1', '460210468233.dkr.ecr.us-east-1.amazonaws.com'],
    ['cn-north-1', '460210468233.dkr.ecr.cn-north-1.amazonaws.com.cn'],
    ['us-gov-west-1', '460210468233.dkr.ecr.us-gov-west-1.amazonaws.com'],
  ])('puts %s on its partition host', (region, host) => {
    const target = registryTargetFor({ registry: { account: '460210468233', region } });
    expect(target).toMatchObject({ kind: 'ecr', host, protocol: 'https' });
    expect(ecrImageName({ account: '460210468233', region }, 'engex/halow')).toBe(`${host}/engex/halow`);
  });

  it('uses a plain registry from the override', () => {
    expect(registryTargetFor({ registry: { account: '460210468233', region: 'us-east-1' } }, '127.0.0.1:5000')).toEqual({
      kind: 'plain',
      host: '127.0.0.1:5000',
      protocol: 'http',
    });
  });
});

describe('registry overrides', () => {
  it.each([
    ['127.0.0.1:5000', 'http'],
    ['localhost:5000', 'http'],
    ['[::1]:5000', 'http'],
    ['registry.internal:443', 'https'],
    ['registry.internal', 'https'],
  ])('%s speaks %s', (value, protocol) => {
    expect(parseRegistryOverride(value).protocol).toBe(protocol);
  });

  it.each(['http://127.0.0.1:5000', '127.0.0.1:99999', 'host:port', '', 'a b:1', '127.0.0.1:5000/path'])('rejects %j', (value) => {
    expect(() => parseRegistryOverride(value)).toThrow(/^REGISTRY: expected host:port of a plain OCI registry/);
  });

  it('only loopback hosts count as loopback', () => {
    expect(isLoopbackHost('127.10.0.1:1')).toBe(true);
    expect(isLoopbackHost('128.0.0.1:1')).toBe(false);
    expect(isLoopbackHost('localhost.evil.com')).toBe(false);
  });
});
