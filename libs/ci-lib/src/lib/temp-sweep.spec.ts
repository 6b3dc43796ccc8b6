import { mkdir, mkdtemp, readdir, rm, symlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STALE_AFTER_MS, planSweep, sweepStaleTempDirs } from './temp-sweep.js';

const NOW = Date.parse('2026-11-30T10:00:00Z');
const alive = (pids: number[]) => (pid: number) => pids.includes(pid);

describe('planSweep', () => {
  it('removes only our dirs whose process is gone or that are old', () => {
    const fresh = NOW - 1000;
    const old = NOW - STALE_AFTER_MS - 1;
    expect(
      planSweep(
        [
          { name: 'engex-bump-111-aaaaaa', mtimeMs: fresh, ours: true },
          { name: 'engex-bump-222-bbbbbb', mtimeMs: fresh, ours: true },
          { name: 'engex-bump-222-cccccc', mtimeMs: old, ours: true },
          { name: 'engex-bump-dddddd', mtimeMs: fresh, ours: true },
          { name: 'engex-bump-eeeeee', mtimeMs: old, ours: true },
          { name: 'engex-bump-333-ffffff', mtimeMs: old, ours: false },
          { name: 'other-444-gggggg', mtimeMs: old, ours: true },
        ],
        { nowMs: NOW, isAlive: alive([222]) },
      ),
    ).toEqual(['engex-bump-111-aaaaaa', 'engex-bump-222-cccccc', 'engex-bump-eeeeee']);
  });
});

describe('sweepStaleTempDirs', () => {
  it('removes a dead run’s clone, keeps live ones, other prefixes and symlinks', async () => {
    const root = await mkdtemp(join(tmpdir(), 'engex-sweep-test-'));
    const dead = 2 ** 22 + 12345; // above Linux's default pid_max: never alive
    await mkdir(join(root, `engex-bump-${dead}-x1`, 'repo'), { recursive: true });
    await mkdir(join(root, `engex-bump-${process.pid}-x2`));
    await mkdir(join(root, 'engex-bump-legacy'));
    await mkdir(join(root, 'unrelated-1-x'));
    await mkdir(join(root, 'target'));
    await symlink(join(root, 'target'), join(root, `engex-bump-${dead}-link`));
    const old = new Date(Date.now() - STALE_AFTER_MS - 60_000);
    await utimes(join(root, 'target'), old, old);

    expect(await sweepStaleTempDirs(root, { nowMs: Date.now() })).toEqual([`engex-bump-${dead}-x1`]);
    expect((await readdir(root)).sort()).toEqual([`engex-bump-${dead}-link`, `engex-bump-${process.pid}-x2`, 'engex-bump-legacy', 'target', 'unrelated-1-x'].sort());
    await rm(root, { recursive: true, force: true });
  });
});
