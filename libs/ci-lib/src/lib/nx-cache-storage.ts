import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processAlive } from './temp-sweep.js';

/**
 * Where the Nx cache server keeps entries. An upload is first spooled to a local temp file and
 * checked (see nx-cache-archive.ts); `publish` then makes it visible exactly once per hash.
 */
export interface NxCacheStorage {
  /** For the start-up line, e.g. `dir=/srv/nx-cache` or `s3://bucket/prefix/`. */
  readonly describe: string;
  /** A directory for spooled uploads and downloads (same filesystem as the entries for the folder backend). */
  readonly spoolDir: string;
  /** The entry as a local file, or undefined when absent. `release()` once it is sent. */
  fetch(hash: string): Promise<{ path: string; size: number; release(): Promise<void> } | undefined>;
  /** Cheap early check before receiving a body; `publish` is what really guarantees write-once. */
  has(hash: string): Promise<boolean>;
  /** Publishes the checked file at `path`; 'exists' when the hash was already stored (never replaced). */
  publish(hash: string, path: string, size: number): Promise<'stored' | 'exists'>;
  /** An entry that failed to read back: never served again. */
  quarantine(hash: string): Promise<void>;
}

/** Temp files of this process: `.incoming-<host>-<pid>-<random>`, so a sweep can tell whose they are. */
export const SPOOL_PREFIX = '.incoming-';

export function spoolName(hash: string): string {
  return `${SPOOL_PREFIX}${safeHost()}-${process.pid}-${hash.slice(0, 16)}-${randomBytes(6).toString('hex')}`;
}

const safeHost = (): string => hostname().replace(/[^A-Za-z0-9.]/g, '_');

export interface SpoolEntry {
  name: string;
  mtimeMs: number;
}

/**
 * Pure: which spool files of a directory (possibly shared by several servers, on several hosts)
 * belong to a dead upload. A file is removed only when its process on this host is gone, or when it
 * is older than the longest request any server accepts (`requestTimeoutMs`): no live upload, of
 * ours or another server's, can still be writing it.
 */
export function planSpoolSweep(entries: readonly SpoolEntry[], policy: { nowMs: number; host: string; requestTimeoutMs: number; isAlive: (pid: number) => boolean }): string[] {
  return entries
    .filter((e) => e.name.startsWith(SPOOL_PREFIX))
    .filter((e) => {
      if (policy.nowMs - e.mtimeMs > policy.requestTimeoutMs + 60_000) return true;
      const match = /^(.+)-(\d{1,10})-[0-9a-f]*-[0-9a-f]{12}$/.exec(e.name.slice(SPOOL_PREFIX.length));
      return match !== null && match[1] === policy.host && !policy.isAlive(Number(match[2]));
    })
    .map((e) => e.name);
}

export async function sweepSpool(dir: string, requestTimeoutMs: number, nowMs: number): Promise<string[]> {
  const entries: SpoolEntry[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(SPOOL_PREFIX)) continue;
    const s = await lstat(join(dir, name)).catch(() => undefined);
    if (s?.isFile()) entries.push({ name, mtimeMs: s.mtimeMs });
  }
  const doomed = planSpoolSweep(entries, { nowMs, host: safeHost(), requestTimeoutMs, isAlive: (pid) => pid === process.pid || processAlive(pid) });
  for (const name of doomed) await unlink(join(dir, name)).catch(() => {});
  return doomed;
}

const QUARANTINE = '.quarantine';

/** One file per hash in `dir`; `link(2)` publishes, so of concurrent uploads exactly one wins. */
export async function createFolderStorage(dir: string): Promise<NxCacheStorage & { evictOlderThan(maxAgeMs: number, nowMs: number): Promise<number> }> {
  await mkdir(dir, { recursive: true });
  const file = (hash: string) => join(dir, hash);
  return {
    describe: `dir=${dir}`,
    spoolDir: dir,
    async fetch(hash) {
      const size = await stat(file(hash)).then(
        (s) => s.size,
        (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)),
      );
      if (size === undefined) return undefined;
      // Served entries count as used: eviction goes by last use, not by age of the upload.
      await utimes(file(hash), new Date(), (await stat(file(hash))).mtime).catch(() => {});
      return { path: file(hash), size, release: async () => {} };
    },
    has: (hash) =>
      stat(file(hash)).then(
        () => true,
        () => false,
      ),
    async publish(hash, path) {
      return link(path, file(hash)).then(
        () => 'stored' as const,
        (error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? ('exists' as const) : Promise.reject(error)),
      );
    },
    async quarantine(hash) {
      await mkdir(join(dir, QUARANTINE), { recursive: true });
      await rename(file(hash), join(dir, QUARANTINE, `${hash}-${Date.now()}`)).catch((error: NodeJS.ErrnoException) =>
        error.code === 'ENOENT' ? undefined : Promise.reject(error),
      );
    },
    /** Removes entries not read nor written for `maxAgeMs` (atime is bumped on each GET above). */
    async evictOlderThan(maxAgeMs, nowMs) {
      let removed = 0;
      for (const name of await readdir(dir)) {
        if (name.startsWith('.')) continue;
        const s = await stat(join(dir, name)).catch(() => undefined);
        if (s?.isFile() && nowMs - Math.max(s.atimeMs, s.mtimeMs) > maxAgeMs) {
          await unlink(join(dir, name)).catch(() => {});
          removed++;
        }
      }
      return removed;
    },
  };
}
