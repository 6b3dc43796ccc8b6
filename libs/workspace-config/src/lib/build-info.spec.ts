import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBuildInfo, renderVersion } from './build-info.js';

describe('readBuildInfo', () => {
  it('reads the package version and the checkout commit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'engex-version-'));
    try {
      await writeFile(join(dir, 'package.json'), '{"version":"1.2.3"}');
      expect(readBuildInfo('engex-ci', dir)).toEqual({ name: 'engex-ci', version: '1.2.3' });
      const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' }).trim();
      git('init', '-q');
      git('add', '.');
      git('commit', '-qm', 'init');
      const sha = git('rev-parse', 'HEAD');
      expect(readBuildInfo('engex-ci', dir)).toEqual({ name: 'engex-ci', version: '1.2.3', commit: sha });
      expect(renderVersion(readBuildInfo('engex-ci', dir))).toBe(`engex-ci 1.2.3 (commit ${sha})\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says unknown instead of failing without package.json or git', () => {
    const info = readBuildInfo('engex-pipeline', join(tmpdir(), 'engex-no-such-dir'));
    expect(info).toEqual({ name: 'engex-pipeline', version: 'unknown' });
    expect(renderVersion(info)).toBe('engex-pipeline unknown (commit unknown: not run from a git checkout)\n');
  });
});
