import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readPlugin } from './plugin-config.js';
import { cacheKey, restoreCache, saveCache } from './plugins.js';

const keyEnv = { BUILDKITE_PIPELINE_SLUG: 'local', BUILDKITE_LABEL: 'build x', BUILDKITE_BRANCH: 'main', BUILDKITE_ORGANIZATION_SLUG: 'org' };

describe('cache#v1.12.0 emulation', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engex-cache-'));
    await mkdir(join(dir, 'co/locks'), { recursive: true });
    await writeFile(join(dir, 'co/package-lock.json'), '{"lockfileVersion":3}\n');
    await writeFile(join(dir, 'co/locks/a.txt'), 'a\n');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const cache = (over: Record<string, unknown> = {}) =>
    readPlugin('cache#v1.12.0', { path: 'node_modules', manifest: ['package-lock.json', 'locks'], restore: 'file', save: 'file', compression: 'none', ...over }, 'test') as Extract<
      ReturnType<typeof readPlugin>,
      { kind: 'cache' }
    >;

  it("computes the plugin's keys: the same shell pipeline as its hash_files and build_key", async () => {
    // lib/shared.bash of v1.12.0, verbatim in effect: find | sort -z | xargs sha1sum | cut | sort | sha1sum | cut, then echo "cache-…" | sha1sum.
    const sh = (script: string): string => execFileSync('bash', ['-c', script], { cwd: join(dir, 'co'), encoding: 'utf8' }).trim();
    const base = sh("( for f in package-lock.json locks; do find \"$f\" -type f -print0; done ) | sort -z | xargs -0 sha1sum | cut -d' ' -f1 | sort | sha1sum | cut -d' ' -f1");
    const key = (text: string): string => sh(`echo "${text}" | sha1sum | cut -d' ' -f1`);
    const c = cache({ compression: 'zstd', 'key-extra': '-linux-x64-node20' });
    expect(await cacheKey(c, 'file', join(dir, 'co'), keyEnv)).toBe(key(`cache-file-${base}-node_modules-zstd-linux-x64-node20`));
    expect(await cacheKey(c, 'step', join(dir, 'co'), keyEnv)).toBe(key('cache-step-localbuild x-node_modules-zstd-linux-x64-node20'));
    expect(await cacheKey(c, 'all', join(dir, 'co'), keyEnv)).toBe(key('cache-all-org-node_modules-zstd-linux-x64-node20'));
  });

  it('restores the first level that exists up to `restore`; saves each `save` level after a pass; soft-fail turns an outage into a miss', async () => {
    const log: string[] = [];
    const run = { folder: join(dir, 'store'), checkout: join(dir, 'co'), env: keyEnv, log: (l: string) => void log.push(l) };
    const c = cache({ restore: 'pipeline', save: ['file', 'pipeline'] });
    expect(await restoreCache(c, run)).toBe(false);
    expect(log.pop()).toBe('Cache miss up to pipeline-level for node_modules, sorry');
    await mkdir(join(dir, 'co/node_modules/x'), { recursive: true });
    await writeFile(join(dir, 'co/node_modules/x/i.js'), '1');
    expect(await saveCache(c, run)).toBe(true);
    expect(await readdir(join(dir, 'store'))).toHaveLength(2);
    await rm(join(dir, 'co/node_modules'), { recursive: true });
    await writeFile(join(dir, 'co/package-lock.json'), '{"changed":true}\n');
    expect(await restoreCache(c, run)).toBe(true);
    expect(log.pop()).toBe('Cache hit at pipeline level, restoring node_modules...');
    expect(await readFile(join(dir, 'co/node_modules/x/i.js'), 'utf8')).toBe('1');
    await rm(join(dir, 'co/node_modules'), { recursive: true });
    await expect(saveCache(c, run)).rejects.toThrow(/does not exist/);
    expect(await saveCache(cache({ 'soft-fail': true }), run)).toBe(false);
    expect(log.pop()).toMatch(/Cache save operation failed, continuing build \(soft-fail enabled\)/);
  });

  it('reads only what it emulates, naming the version it mirrors', () => {
    expect(() => readPlugin('cache#v1.13.0', { path: 'x', save: 'all' }, 'step s')).toThrow(
      'step s: plugin cache#v1.13.0 has no local emulation (emulated: cache#v1.12.0, ecr#v2.10.0, test-collector#v1.11.0)',
    );
    expect(() => readPlugin('cache#v1.12.0', { path: 'x', restore: 'file', 'keep-compressed-artifacts': true }, 's')).toThrow(
      'plugin cache#v1.12.0: keep-compressed-artifacts: not emulated locally; manifest: the file level needs one',
    );
    expect(readPlugin('ecr#v2.10.0', { login: true, account_ids: '460210468233', region: 'us-east-1' }, 's')).toEqual({
      kind: 'ecr',
      ref: 'ecr#v2.10.0',
      login: true,
      registries: ['460210468233.dkr.ecr.us-east-1.amazonaws.com'],
    });
    expect(readPlugin('test-collector#v1.11.0', { files: 'a/junit.xml', format: 'junit', 'annotation-link': true }, 's')).toMatchObject({
      files: ['a/junit.xml'],
      tokenEnv: 'BUILDKITE_ANALYTICS_TOKEN',
    });
  });
});
