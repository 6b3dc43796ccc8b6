import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultServer, type FaultBehaviour } from '@engex/ci-lib/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Git } from './git.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' };
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'engex-git-'));
  execFileSync('git', ['init', '-q', '-b', 'main', dir], { env: GIT_ENV });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Git.changedFiles', () => {
  it('lists names git would quote exactly as they are on disk', () => {
    const names = ['plain.ts', 'ünï.ts', 'tab\there.ts', 'quo"te.ts', 'new\nline.ts'];
    writeFileSync(join(dir, 'base.txt'), 'base');
    execFileSync('git', ['add', '-A'], { cwd: dir, env: GIT_ENV });
    execFileSync('git', ['commit', '-q', '-m', 'base'], { cwd: dir, env: GIT_ENV });
    for (const n of names.slice(0, 3)) writeFileSync(join(dir, n), n);
    execFileSync('git', ['add', '-A'], { cwd: dir, env: GIT_ENV });
    execFileSync('git', ['commit', '-q', '-m', 'odd names'], { cwd: dir, env: GIT_ENV });
    for (const n of names.slice(3)) writeFileSync(join(dir, n), n);
    const git = new Git(dir, GIT_ENV);
    return Promise.all([git.changedFiles('HEAD~1', 'HEAD'), git.changedFiles('HEAD~1')]).then(([committed, tree]) => {
      expect(committed.sort()).toEqual(names.slice(0, 3).sort());
      expect(tree.sort()).toEqual([...names].sort());
    });
  });
});

// A remote that never answers or drips must not hold base selection: the fetch is killed at the
// deadline and counts as failed (the caller then runs more, never less).
describe('Git network deadline', { timeout: 20_000 }, () => {
  it.each([
    ['hangs', { kind: 'hang' }],
    ['drips', { kind: 'drip', intervalMs: 200 }],
  ] as const)('a remote that %s fails the fetch at the deadline', async (_what, behaviour: FaultBehaviour) => {
    const server = await startFaultServer({ behaviours: [behaviour], lifetimeMs: 15_000 });
    try {
      const git = new Git(dir, { ...GIT_ENV, GIT_TERMINAL_PROMPT: '0' }, 1_500);
      const started = Date.now();
      expect(await git.fetch(`${server.url}/ops.git`, ['main'])).toBe(false);
      // Without the kill, the fetch would end only when the server's 15 s lifetime closes it.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(server.requests.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
