import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LocalCache } from './plan-local-run.js';

/**
 * The parts of an ephemeral Buildkite agent a fresh-agents run needs: a clone of the commit, and
 * the cache plugin with its `fs` backend's semantics against a local folder (restore before the
 * commands when the key exists; save after they passed when it does not).
 */

const run = promisify(execFile);

/** A fresh checkout of `commit` in `dir`: no node_modules, no Nx cache, no untracked files. */
export async function cloneAgent(repo: string, commit: string, dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  await mkdir(dir, { recursive: true });
  // A local clone hard-links the objects; the working tree is new, as an agent's checkout is.
  await run('git', ['clone', '--quiet', '--no-checkout', repo, dir], { env, timeout: 120_000 });
  await run('git', ['-C', dir, 'checkout', '--quiet', '--detach', commit], { env, timeout: 120_000 });
}

const EXTENSION: Record<string, string> = { zstd: '.tar.zst', tgz: '.tar.gz', none: '.tar' };
const TAR_FLAGS: Record<string, string[]> = { zstd: ['--zstd'], tgz: ['-z'], none: [] };

/**
 * The archive of `cache` for this checkout: named by the SHA-256 of its manifest files (in their
 * given order, each with its name), the cached path and the compression, as the plugin's `file`
 * level keys it.
 */
export async function dependencyCacheFile(folder: string, checkout: string, cache: LocalCache): Promise<string> {
  const hash = createHash('sha256');
  for (const file of cache.manifest) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(checkout, file)));
  }
  hash.update(`\0${cache.path}\0${cache.compression}`);
  return join(folder, `${hash.digest('hex')}${EXTENSION[cache.compression] ?? '.tar'}`);
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** Unpacks the cached `path` into the checkout; false on a miss. */
export async function restoreDependencyCache(folder: string, checkout: string, cache: LocalCache, env: NodeJS.ProcessEnv): Promise<boolean> {
  const file = await dependencyCacheFile(folder, checkout, cache);
  if (!(await exists(file))) return false;
  await run('tar', ['-x', ...(TAR_FLAGS[cache.compression] ?? []), '-f', file, '-C', checkout], { env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
  return true;
}

/**
 * Packs `path` into the cache unless the key is there already. Atomic: written to a temporary
 * name in the same folder, then renamed, so a parallel or interrupted save never leaves a torn
 * archive that a later restore would unpack.
 */
export async function saveDependencyCache(folder: string, checkout: string, cache: LocalCache, env: NodeJS.ProcessEnv): Promise<boolean> {
  const file = await dependencyCacheFile(folder, checkout, cache);
  if (await exists(file)) return false;
  if (!(await exists(join(checkout, cache.path)))) return false;
  await mkdir(folder, { recursive: true });
  const partial = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
  try {
    await run('tar', ['-c', ...(TAR_FLAGS[cache.compression] ?? []), '-f', partial, '-C', checkout, cache.path], { env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
  return true;
}
