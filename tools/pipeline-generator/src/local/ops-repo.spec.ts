import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/temp-dir.js';
import { ensureOpsRepo, renderOpsSeed } from './ops-repo.js';

const run = promisify(execFile);

describe('renderOpsSeed', () => {
  it('seeds both overlays with comments and one images entry, as the real ops repos have', () => {
    const files = renderOpsSeed('halow', '460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow');
    expect(Object.keys(files)).toEqual([
      'README.md',
      'base/kustomization.yaml',
      'base/deployment.yaml',
      'overlays/staging/kustomization.yaml',
      'overlays/production/kustomization.yaml',
    ]);
    expect(files['overlays/staging/kustomization.yaml']).toMatchInlineSnapshot(`
      "# halow in staging. The pipeline bumps newTag below; edit the rest by hand.
      apiVersion: kustomize.config.k8s.io/v1beta1
      kind: Kustomization
      resources:
        - ../../base # shared manifests
      images:
        # halow: tagged with the full commit sha (ECR tags are immutable)
        - name: 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow
          newTag: initial # replaced by engex-ci deploy bump
      "
    `);
  });
});

describe('ensureOpsRepo', () => {
  it('creates a bare repo with one seed commit on main, once', async () => {
    const dir = await tempDir('engex-ops-');
    const path = join(dir, 'state/ops/halow-ops.git');
    expect(await ensureOpsRepo(path, 'halow', 'example.com/engex/halow', process.env)).toEqual({ path, created: true });
    expect(await ensureOpsRepo(path, 'halow', 'example.com/engex/halow', process.env)).toEqual({ path, created: false });
    const git = async (...args: string[]) => (await run('git', ['--git-dir', path, ...args])).stdout.trim();
    expect(await git('symbolic-ref', 'HEAD')).toBe('refs/heads/main');
    expect((await git('log', '--format=%s', 'main')).split('\n')).toEqual(['Seed local halow-ops']);
    expect(await git('show', 'main:overlays/production/kustomization.yaml')).toContain('- name: example.com/engex/halow');
  });
});
