import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Every temp dir engex-ci makes is `<prefix><pid>-<random>`, so a later run can tell whose it is. */
export const TEMP_PREFIX = 'engex-bump-';

/** Past this a leftover is removed even if its pid is alive again (pids are reused). */
export const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

export interface TempEntry {
  name: string;
  mtimeMs: number;
  /** A real directory (not a symlink) owned by this user. */
  ours: boolean;
}

export interface SweepPolicy {
  nowMs: number;
  /** Default STALE_AFTER_MS. */
  staleAfterMs?: number;
  isAlive: (pid: number) => boolean;
}

/**
 * Pure: which entries of the temp root are leftovers of a killed run. Only our prefix, only real
 * directories of this user, and only when the owning process is gone or the dir is old; a dir
 * without a pid (older engex-ci) goes only when old.
 */
export function planSweep(entries: readonly TempEntry[], policy: SweepPolicy): string[] {
  const staleAfter = policy.staleAfterMs ?? STALE_AFTER_MS;
  return entries
    .filter((e) => e.ours && e.name.startsWith(TEMP_PREFIX))
    .filter((e) => {
      if (policy.nowMs - e.mtimeMs > staleAfter) return true;
      const pid = /^(\d{1,10})-[^/]+$/.exec(e.name.slice(TEMP_PREFIX.length))?.[1];
      return pid !== undefined && !policy.isAlive(Number(pid));
    })
    .map((e) => e.name);
}

/** Signal 0 checks existence; EPERM means it exists under another user. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the leftovers `planSweep` picks in `root`; returns their names. Failures are ignored (best effort). */
export async function sweepStaleTempDirs(root: string, policy: Omit<SweepPolicy, 'isAlive'> & { isAlive?: SweepPolicy['isAlive'] }): Promise<string[]> {
  const uid = process.getuid?.();
  const names = (await readdir(root).catch(() => [] as string[])).filter((n) => n.startsWith(TEMP_PREFIX));
  const entries: TempEntry[] = [];
  for (const name of names) {
    const stat = await lstat(join(root, name)).catch(() => undefined);
    if (!stat) continue;
    entries.push({ name, mtimeMs: stat.mtimeMs, ours: stat.isDirectory() && (uid === undefined || stat.uid === uid) });
  }
  const doomed = planSweep(entries, { ...policy, isAlive: policy.isAlive ?? processAlive });
  for (const name of doomed) await rm(join(root, name), { recursive: true, force: true }).catch(() => {});
  return doomed;
}
