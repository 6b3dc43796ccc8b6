import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { artifactMatcher, globBase } from './artifacts.js';
import { CACHE_LEVELS, type CacheLevel, type LocalPlugin } from './plugin-config.js';

/**
 * The plugins' hooks, run by the local agent at the phases the real agent runs them. Each one
 * mirrors its pinned version (plugin-config.ts names them); the differences are said where they are.
 */

const run = promisify(execFile);
const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

type Cache = Extract<LocalPlugin, { kind: 'cache' }>;

/** What the cache plugin's `build_key` reads from the job's environment. */
export interface CacheKeyEnv {
  BUILDKITE_PIPELINE_SLUG: string;
  BUILDKITE_LABEL: string;
  BUILDKITE_BRANCH: string;
  BUILDKITE_ORGANIZATION_SLUG: string;
}

const sha1 = (data: string | Buffer): string => createHash('sha1').update(data).digest('hex');

/** cache#v1.12.0 `hash_files`: every file under the manifests, hashed, the sorted hashes hashed. */
async function hashFiles(checkout: string, manifests: readonly string[]): Promise<string> {
  const files: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const s = await stat(join(checkout, path));
    if (s.isFile()) files.push(path);
    else if (s.isDirectory()) for (const e of await readdir(join(checkout, path))) await walk(`${path}/${e}`);
  };
  for (const m of manifests) await walk(m);
  const hashes = await Promise.all(files.sort().map(async (f) => sha1(await readFile(join(checkout, f)))));
  return sha1(
    hashes
      .sort()
      .map((h) => `${h}\n`)
      .join(''),
  );
}

/** cache#v1.12.0 `build_key`: `echo "cache-<level>-<base>-<path>-<compression><key-extra>" | sha1sum`. */
export async function cacheKey(cache: Cache, level: CacheLevel, checkout: string, env: CacheKeyEnv): Promise<string> {
  const base = {
    file: () => hashFiles(checkout, cache.manifest),
    step: async () => `${env.BUILDKITE_PIPELINE_SLUG}${env.BUILDKITE_LABEL}`,
    branch: async () => `${env.BUILDKITE_PIPELINE_SLUG}${env.BUILDKITE_BRANCH}`,
    pipeline: async () => env.BUILDKITE_PIPELINE_SLUG,
    all: async () => env.BUILDKITE_ORGANIZATION_SLUG,
  }[level];
  return sha1(`cache-${level}-${await base()}-${cache.path}-${cache.compression}${cache.keyExtra}\n`);
}

const TAR: Record<Cache['compression'], string[]> = { zstd: ['--zstd'], tgz: ['-z'], none: [] };

export interface CacheRun {
  folder: string;
  checkout: string;
  env: CacheKeyEnv;
  log: (line: string) => void;
  /** False on agents without write access to the bucket (IAM): a save is denied, as S3 would. */
  writable?: boolean;
}

/**
 * pre-command: from `file` up to `restore`, the first level whose key exists is restored (fs
 * backend: an archive, or with `compression: none` a copy of the folder). A failure fails the job
 * unless `soft-fail`. Returns whether it restored.
 */
export async function restoreCache(cache: Cache, r: CacheRun): Promise<boolean> {
  if (cache.restore === undefined) return false;
  return softFail(cache, 'restore', r, async () => {
    for (const level of CACHE_LEVELS) {
      if (level === 'file' && cache.manifest.length === 0) continue;
      const key = await cacheKey(cache, level, r.checkout, r.env);
      const stored = join(r.folder, key);
      if (await exists(stored)) {
        r.log(`Cache hit at ${level} level, restoring ${cache.path}...`);
        if (cache.compression === 'none')
          await run('cp', ['-a', `${stored}/.`, join(r.checkout, cache.path)]).catch(async () => run('cp', ['-a', stored, join(r.checkout, cache.path)]));
        else await run('tar', ['-x', ...TAR[cache.compression], '-f', stored, cache.path], { cwd: r.checkout, maxBuffer: 64 << 20 });
        return true;
      }
      if (level === cache.restore) {
        r.log(`Cache miss up to ${level}-level for ${cache.path}, sorry`);
        break;
      }
    }
    return false;
  });
}

/**
 * post-command, only after the command passed: each `save` level in order is written when its
 * key is missing, `force` is set or a lower level was just written. Atomic: a temporary name,
 * then a rename, so an interrupted save never leaves a torn archive.
 */
export async function saveCache(cache: Cache, r: CacheRun): Promise<boolean> {
  if (cache.save.length === 0) return false;
  return softFail(cache, 'save', r, async () => {
    if (r.writable === false) throw new Error(`AccessDenied: this queue's agents may only read the cache (s3:PutObject is for trusted queues); nothing saved`);
    if (!(await exists(join(r.checkout, cache.path)))) throw new Error(`Cache path '${cache.path}' does not exist`);
    let lowerUpdated = false;
    for (const level of CACHE_LEVELS.filter((l) => cache.save.includes(l))) {
      const key = await cacheKey(cache, level, r.checkout, r.env);
      const stored = join(r.folder, key);
      if (!cache.force && !lowerUpdated && (await exists(stored))) {
        r.log(`Cache of ${level} already exists, skipping`);
        continue;
      }
      r.log(`Saving ${level}-level cache of ${cache.path}`);
      await mkdir(r.folder, { recursive: true });
      const partial = `${stored}.${randomBytes(4).toString('hex')}.partial`;
      try {
        if (cache.compression === 'none') await run('cp', ['-a', join(r.checkout, cache.path), partial]);
        else await run('tar', ['-c', ...TAR[cache.compression], '-f', partial, cache.path], { cwd: r.checkout, maxBuffer: 64 << 20 });
        await rm(stored, { recursive: true, force: true });
        await rename(partial, stored);
      } finally {
        await rm(partial, { recursive: true, force: true });
      }
      lowerUpdated = true;
    }
    return lowerUpdated;
  });
}

async function softFail(cache: Cache, operation: string, r: CacheRun, body: () => Promise<boolean>): Promise<boolean> {
  try {
    return await body();
  } catch (error) {
    if (!cache.softFail) throw error;
    r.log(`--- ⚠️  Cache ${operation} operation failed, continuing build (soft-fail enabled): ${(error as Error).message.split('\n')[0]}`);
    return false;
  }
}

/**
 * test-collector#v1.11.0 pre-exit: with the token variable set (else the hook fails the job, as
 * the plugin does) and the branch filters passing, the files are "uploaded": recorded in the run
 * folder with what would have been sent. Nothing leaves the machine.
 */
export async function recordTestUpload(
  plugin: Extract<LocalPlugin, { kind: 'test-collector' }>,
  job: { checkout: string; env: Readonly<Record<string, string>>; recordFile: string; log: (line: string) => void },
): Promise<number> {
  const branch = job.env['BUILDKITE_BRANCH'] ?? '';
  if (plugin.branches !== undefined && !new RegExp(plugin.branches).test(branch)) {
    job.log(`Branch ${branch} does not match selector ${plugin.branches}. Skipping it.`);
    return 0;
  }
  if (plugin.excludeBranches !== undefined && new RegExp(plugin.excludeBranches).test(branch)) {
    job.log(`Branch ${branch} matches exclude selector ${plugin.excludeBranches}. Skipping it.`);
    return 0;
  }
  if (!job.env[plugin.tokenEnv]) {
    job.log(`Missing ${plugin.tokenEnv} environment variable`);
    return 1;
  }
  const files: string[] = [];
  for (const glob of plugin.files) {
    const matches = artifactMatcher(glob);
    const base = globBase(glob);
    const candidates = (await exists(join(job.checkout, glob))) ? [glob] : await listUnder(job.checkout, base);
    files.push(...candidates.filter((f) => matches(f)));
  }
  await mkdir(join(job.recordFile, '..'), { recursive: true });
  await writeFile(job.recordFile, `${JSON.stringify({ plugin: plugin.ref, format: plugin.format, files, sent: false }, null, 2)}\n`);
  job.log(`${plugin.ref} (emulated): ${files.length} ${plugin.format} file(s) recorded in ${job.recordFile}, not sent`);
  return 0;
}

async function listUnder(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, dir), { withFileTypes: true }).catch(() => [])) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory() && e.name !== 'node_modules' && e.name !== '.git') out.push(...(await listUnder(root, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}
