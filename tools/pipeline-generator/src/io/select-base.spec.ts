import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpGet } from './buildkite-api.js';
import type { BuildkiteEnv } from '@engex/workspace-config';
import { BaseUnavailableError } from '../core/errors.js';
import { Git } from './git.js';
import { selectBase, type SelectBaseOptions } from './select-base.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function commit(cwd: string, message: string): string {
  writeFileSync(join(cwd, `${message.replace(/\W/g, '-')}.txt`), message);
  git(cwd, 'add', '-A');
  git(cwd, 'commit', '-q', '-m', message);
  return git(cwd, 'rev-parse', 'HEAD');
}

let root: string;
/** upstream: main m1..m6, feature branched at m3 with f1..f2, and an unrelated orphan commit. */
const sha: Record<string, string> = {};
let upstream: string;
let counter = 0;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'engex-base-'));
  upstream = join(root, 'upstream');
  git(root, 'init', '-q', '-b', 'main', upstream);
  for (const m of ['m1', 'm2', 'm3']) sha[m] = commit(upstream, m);
  git(upstream, 'checkout', '-q', '-b', 'feature');
  for (const f of ['f1', 'f2']) sha[f] = commit(upstream, f);
  git(upstream, 'checkout', '-q', 'main');
  for (const m of ['m4', 'm5', 'm6']) sha[m] = commit(upstream, m);
  git(upstream, 'checkout', '-q', '--orphan', 'rewritten');
  sha['orphan'] = commit(upstream, 'orphan');
  git(upstream, 'checkout', '-q', 'main');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A clone over file:// so `--depth` really makes it shallow. */
function clone(options: { depth?: number; branch?: string; singleBranch?: boolean } = {}): string {
  const dir = join(root, `clone-${++counter}`);
  const args = ['clone', '-q'];
  if (options.depth) args.push(`--depth=${options.depth}`);
  if (options.branch) args.push('--branch', options.branch);
  if (options.singleBranch) args.push('--single-branch');
  git(root, ...args, `file://${upstream}`, dir);
  return dir;
}

const noHttp: HttpGet = async () => {
  throw new Error('the Buildkite API must not be called here');
};

function passedBuild(commitSha: string | undefined): HttpGet & { branches: string[] } {
  const branches: string[] = [];
  const get: HttpGet = async (url) => {
    branches.push(new URL(url).searchParams.get('branch') ?? '');
    return { status: 200, body: commitSha ? [{ commit: commitSha }] : [] };
  };
  return Object.assign(get, { branches });
}

const buildkite = (env: Partial<BuildkiteEnv>): BuildkiteEnv => ({ onBuildkite: true, defaultBranch: 'main', ...env });
const API = { token: 't', organization: 'acme', pipeline: 'halow' };

function options(dir: string, env: BuildkiteEnv, extra: Partial<SelectBaseOptions> = {}): SelectBaseOptions {
  return {
    env,
    defaultBranch: 'main',
    isDeployBranch: (b) => b === 'main' || b.startsWith('release/'),
    strict: false,
    git: new Git(dir, GIT_ENV),
    http: noHttp,
    ...extra,
  };
}

const isShallow = (dir: string): boolean => git(dir, 'rev-parse', '--is-shallow-repository') === 'true';

describe('selectBase: explicit', () => {
  it('--base wins over NX_BASE and every automatic rule', async () => {
    const dir = clone();
    const s = await selectBase(options(dir, buildkite({ branch: 'main', api: API, nxBase: 'HEAD~1' }), { base: 'HEAD~3' }));
    expect(s).toMatchObject({ rule: 'explicit', base: sha['m3'], commit: sha['m6'], reason: '--base HEAD~3.' });
  });

  it('NX_BASE and NX_HEAD are used when no flag is given; the base is the merge-base, as in nx', async () => {
    const dir = clone();
    git(dir, 'fetch', '-q', 'origin', 'feature:feature');
    const s = await selectBase(options(dir, { onBuildkite: false, nxBase: 'feature', nxHead: 'main' }));
    expect(s).toMatchObject({ rule: 'explicit', base: sha['m3'], head: sha['m6'], commit: sha['m6'] });
  });

  it('a base that names no commit runs everything, or fails under --strict-base', async () => {
    const dir = clone();
    expect(await selectBase(options(dir, { onBuildkite: false }, { base: 'no-such-ref' }))).toMatchObject({
      rule: 'none',
      reason: '--base "no-such-ref" does not name a commit in this checkout.',
    });
    await expect(selectBase(options(dir, { onBuildkite: false }, { base: 'no-such-ref', strict: true }))).rejects.toBeInstanceOf(BaseUnavailableError);
  });

  it('refuses option-looking refs instead of passing them to git', async () => {
    const dir = clone();
    expect(await selectBase(options(dir, { onBuildkite: false }, { base: '--output=/tmp/x' }))).toMatchObject({ rule: 'none' });
  });
});

describe('selectBase: outside Buildkite (npm run pipeline)', () => {
  it('compares a feature branch with origin/main through their merge-base', async () => {
    const dir = clone({ branch: 'feature' });
    const s = await selectBase(options(dir, { onBuildkite: false }));
    expect(s).toMatchObject({ rule: 'local', base: sha['m3'], commit: sha['f2'] });
    expect(s.head).toBeUndefined();
    expect(s.reason).toBe('merge-base of origin/main and HEAD, plus uncommitted and untracked files.');
  });

  it('falls back to a local main, then to HEAD~1, then to everything', async () => {
    const local = join(root, 'local-main');
    git(root, 'clone', '-q', `file://${upstream}`, local);
    git(local, 'remote', 'remove', 'origin');
    git(local, 'checkout', '-q', '-b', 'topic');
    commit(local, 't1');
    expect(await selectBase(options(local, { onBuildkite: false }))).toMatchObject({
      rule: 'local',
      base: sha['m6'],
      reason: expect.stringContaining('merge-base of main and HEAD'),
    });

    const trunk = join(root, 'trunk');
    git(root, 'init', '-q', '-b', 'trunk', trunk);
    const first = commit(trunk, 'one');
    expect(await selectBase(options(trunk, { onBuildkite: false }))).toMatchObject({
      rule: 'none',
      reason: 'HEAD is the first commit and there is no main branch to compare with.',
    });
    commit(trunk, 'two');
    expect(await selectBase(options(trunk, { onBuildkite: false }))).toMatchObject({ rule: 'local', base: first });
  });
});

describe('selectBase: pull request', () => {
  it('uses git merge-base origin/<base branch> HEAD', async () => {
    const dir = clone({ branch: 'feature' });
    const s = await selectBase(options(dir, buildkite({ branch: 'feature', pullRequest: 12, pullRequestBaseBranch: 'main' })));
    expect(s).toMatchObject({ rule: 'pull-request', base: sha['m3'], head: sha['f2'], commit: sha['f2'] });
    expect(s.reason).toBe(`pull request #12: merge-base of origin/main and ${sha['f2']?.slice(0, 12)} is ${sha['m3']?.slice(0, 12)}.`);
  });

  it('fetches the base branch when the clone lacks it', async () => {
    const dir = clone({ branch: 'feature', singleBranch: true });
    expect(() => git(dir, 'rev-parse', '--verify', '-q', 'origin/main')).toThrow();
    const s = await selectBase(options(dir, buildkite({ branch: 'feature', pullRequest: 12, pullRequestBaseBranch: 'main' })));
    expect(s).toMatchObject({ rule: 'pull-request', base: sha['m3'], notes: ['fetched origin/main.'] });
  });

  it('deepens a shallow clone until the merge-base appears', async () => {
    const dir = clone({ branch: 'feature', depth: 1, singleBranch: true });
    expect(isShallow(dir)).toBe(true);
    const s = await selectBase(options(dir, buildkite({ branch: 'feature', pullRequest: 12, pullRequestBaseBranch: 'main' })));
    expect(s).toMatchObject({ rule: 'pull-request', base: sha['m3'] });
    expect(s.notes).toEqual(['fetched origin/main.', 'deepened the shallow clone by 50 commits.']);
  });

  it('a base branch that does not exist runs everything and says why', async () => {
    const dir = clone({ branch: 'feature' });
    const s = await selectBase(options(dir, buildkite({ branch: 'feature', pullRequest: 12, pullRequestBaseBranch: 'gone' })));
    expect(s).toMatchObject({ rule: 'none', reason: 'pull request #12: no merge-base with origin/gone could be found, even after fetching.' });
    expect(s.notes).toContain('origin/gone does not exist.');
  });

  it('a hostile base branch name is never handed to git', async () => {
    const dir = clone({ branch: 'feature' });
    const s = await selectBase(options(dir, buildkite({ branch: 'feature', pullRequest: 12, pullRequestBaseBranch: '--upload-pack=touch /tmp/x' })));
    expect(s).toMatchObject({ rule: 'none', notes: ['refused to use "--upload-pack=touch /tmp/x" as a git ref.'] });
  });
});

describe('selectBase: default and release branches', () => {
  it('uses the commit of the last passed build on the same branch', async () => {
    const dir = clone();
    const http = passedBuild(sha['m4']);
    const s = await selectBase(options(dir, buildkite({ branch: 'main', api: API }), { http }));
    expect(s).toMatchObject({ rule: 'last-passed-build', base: sha['m4'], head: sha['m6'], reason: `last passed build on "main" was at ${sha['m4']?.slice(0, 12)}.` });
    expect(http.branches).toEqual(['main']);
  });

  it('a release branch asks for its own last passed build', async () => {
    const dir = clone();
    git(dir, 'checkout', '-q', '-b', 'release/1.x');
    const http = passedBuild(sha['m5']);
    expect(await selectBase(options(dir, buildkite({ branch: 'release/1.x', api: API }), { http }))).toMatchObject({ rule: 'last-passed-build', base: sha['m5'] });
    expect(http.branches).toEqual(['release/1.x']);
  });

  it('fetches and deepens a shallow clone that lacks the last passed commit', async () => {
    const dir = clone({ depth: 1 });
    expect(() => git(dir, 'cat-file', '-e', `${sha['m2']}^{commit}`)).toThrow();
    const s = await selectBase(options(dir, buildkite({ branch: 'main', api: API }), { http: passedBuild(sha['m2']) }));
    expect(s).toMatchObject({ rule: 'last-passed-build', base: sha['m2'] });
    // Fetched by id at depth 1, then deepened until HEAD's history reaches it.
    expect(s.notes).toEqual([`fetched ${sha['m2']?.slice(0, 12)} from origin.`, 'deepened the shallow clone by 50 commits.']);
  });

  it('a last passed commit that is not an ancestor (force-push) runs everything', async () => {
    const dir = clone();
    git(dir, 'fetch', '-q', 'origin', 'rewritten');
    const s = await selectBase(options(dir, buildkite({ branch: 'main', api: API }), { http: passedBuild(sha['orphan']) }));
    expect(s).toMatchObject({ rule: 'none', reason: `last passed build's commit ${sha['orphan']?.slice(0, 12)} is not an ancestor of ${sha['m6']?.slice(0, 12)} (force-push).` });
  });

  it('a last passed commit that exists nowhere runs everything', async () => {
    const dir = clone();
    const gone = '0123456789abcdef0123456789abcdef01234567';
    const s = await selectBase(options(dir, buildkite({ branch: 'main', api: API }), { http: passedBuild(gone) }));
    expect(s).toMatchObject({ rule: 'none', reason: "last passed build's commit 0123456789ab is not reachable (force-push or deleted history)." });
  });

  it('the first build of a branch (no passed build yet) runs everything, or fails under --strict-base', async () => {
    const dir = clone();
    expect(await selectBase(options(dir, buildkite({ branch: 'main', api: API }), { http: passedBuild(undefined) }))).toMatchObject({
      rule: 'none',
      reason: 'no passed build on "main" yet (first build).',
    });
    await expect(selectBase(options(dir, buildkite({ branch: 'main', api: API }), { http: passedBuild(undefined), strict: true }))).rejects.toThrow(
      /No base commit could be established: no passed build on "main" yet/,
    );
  });

  it('an unreachable Buildkite API runs everything rather than fewer steps', async () => {
    const dir = clone();
    const http: HttpGet = async () => ({ status: 503, body: 'down' });
    // 503 is retried now (bounded): instant sleeps keep the test quick.
    const api = { retry: { sleep: async () => undefined } };
    expect(await selectBase(options(dir, buildkite({ branch: 'main', api: API }), { http, api }))).toMatchObject({
      rule: 'none',
      reason: expect.stringMatching(/^the last passed build could not be read \(Buildkite API GET .* on api\.buildkite\.com answered HTTP 503 after 4 attempt/),
    });
  });

  it('without an API token compares with the parent commit', async () => {
    const dir = clone();
    expect(await selectBase(options(dir, buildkite({ branch: 'main' })))).toMatchObject({
      rule: 'parent-commit',
      base: sha['m5'],
      reason: `no Buildkite API token configured, so the parent commit ${sha['m5']?.slice(0, 12)}.`,
    });
  });

  it('deepens a depth-1 clone by one commit to find the parent', async () => {
    const dir = clone({ depth: 1 });
    const s = await selectBase(options(dir, buildkite({ branch: 'main' })));
    expect(s).toMatchObject({ rule: 'parent-commit', base: sha['m5'], notes: ['deepened the shallow clone by 1 commit.'] });
  });

  it('the very first commit has no parent: everything runs', async () => {
    const dir = join(root, 'first');
    git(root, 'init', '-q', '-b', 'main', dir);
    commit(dir, 'only');
    expect(await selectBase(options(dir, buildkite({ branch: 'main' })))).toMatchObject({ rule: 'none', reason: expect.stringContaining('has no parent commit (first commit)') });
  });
});

describe('selectBase: other builds', () => {
  it('a tag build runs everything: a release tags every service', async () => {
    const dir = clone();
    expect(await selectBase(options(dir, buildkite({ branch: 'v1.2.3', tag: 'v1.2.3', api: API })))).toMatchObject({
      rule: 'none',
      reason: 'tag build ("v1.2.3"): a release rebuilds and tags every service.',
    });
  });

  it('a branch build outside a pull request compares with its branch point', async () => {
    const dir = clone({ branch: 'feature' });
    expect(await selectBase(options(dir, buildkite({ branch: 'feature', api: API })))).toMatchObject({ rule: 'branch-point', base: sha['m3'] });
  });
});
