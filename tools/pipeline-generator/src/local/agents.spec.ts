import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/temp-dir.js';
import { openFreshCloneAgents } from './agents.js';
import type { QueueAgents } from './local-env.js';

const trusted: QueueAgents = { env: {}, hooks: {}, cacheWrite: true };
const untrusted: QueueAgents = { env: {}, hooks: {}, cacheWrite: false };

/** A repository with one commit, then an uncommitted edit and an untracked file. */
async function repo(): Promise<{ dir: string; commit: string }> {
  const dir = await tempDir('engex-agents-repo-');
  const git = (...args: string[]): string => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '--quiet');
  writeFileSync(join(dir, 'a.txt'), 'committed\n');
  writeFileSync(join(dir, '.gitignore'), 'node_modules\n');
  git('add', '.');
  git('commit', '--quiet', '-m', 'one');
  writeFileSync(join(dir, 'a.txt'), 'edited\n');
  writeFileSync(join(dir, 'untracked.txt'), 'x\n');
  return { dir, commit: git('rev-parse', 'HEAD') };
}

describe('openFreshCloneAgents: one agent per job', () => {
  it('gives each job a fresh clone of the commit, and removes it on release and everything on close', async () => {
    const { dir, commit } = await repo();
    const pool = await openFreshCloneAgents({ flags: { npmCache: 'warm' }, cwd: dir, repo: dir, commit, env: process.env });
    const agent = await pool.start({ index: 0, key: 'app:build', queue: trusted });
    expect(agent.checkout.startsWith(pool.root)).toBe(true);
    expect(readFileSync(join(agent.checkout, 'a.txt'), 'utf8')).toBe('committed\n');
    expect(existsSync(join(agent.checkout, 'untracked.txt'))).toBe(false);
    expect(agent.npmCacheDir).toBeUndefined();
    await pool.release(agent);
    expect(existsSync(agent.dir)).toBe(false);
    await pool.close();
    expect(existsSync(pool.root)).toBe(false);
  });

  it('shares the Nx cache only with agents that may write it; cold npm gives each its own download cache', async () => {
    const { dir, commit } = await repo();
    const pool = await openFreshCloneAgents({ flags: { npmCache: 'cold', nxCache: 'shared-nx', depsCache: 'deps' }, cwd: dir, repo: dir, commit, env: process.env });
    try {
      const a = await pool.start({ index: 0, key: 'a', queue: trusted });
      const b = await pool.start({ index: 1, key: 'b', queue: untrusted });
      expect(a.nxCacheDir).toBe(join(dir, 'shared-nx'));
      expect(b.nxCacheDir).toBe(join(b.dir, 'nx'));
      expect([a.npmCacheDir, b.npmCacheDir]).toEqual([join(a.dir, 'npm-cache'), join(b.dir, 'npm-cache')]);
      expect(pool.caches).toEqual({ depsCache: join(dir, 'deps'), depsCacheKept: true, nxCache: { kind: 'directory', dir: join(dir, 'shared-nx') }, npmCache: 'cold' });
    } finally {
      await pool.close();
    }
    // Folders given by flags outlive the run.
    expect([existsSync(join(dir, 'shared-nx')), existsSync(join(dir, 'deps'))]).toEqual([true, true]);
  });

  it('fails a start whose commit does not exist, leaving no half-made agent', async () => {
    const { dir } = await repo();
    const pool = await openFreshCloneAgents({ flags: { npmCache: 'warm', nxCache: 'off' }, cwd: dir, repo: dir, commit: '0'.repeat(40), env: process.env });
    try {
      await expect(pool.start({ index: 0, key: 'a', queue: trusted })).rejects.toThrow();
      expect(existsSync(join(pool.root, 'agents', '001-a'))).toBe(false);
      expect(pool.caches.nxCache).toEqual({ kind: 'off' });
    } finally {
      await pool.close();
    }
  });
});
