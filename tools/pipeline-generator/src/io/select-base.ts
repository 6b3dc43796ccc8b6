import { readLastPassedCommit, type BuildkiteApiOptions, type HttpGet } from './buildkite-api.js';
import type { BuildkiteEnv } from '@engex/workspace-config';
import { BaseUnavailableError, UsageError } from '../core/errors.js';
import { isSafeRef, type Git } from './git.js';
import type { BaseRule } from '../core/context.js';

export type { BaseRule } from '../core/context.js';

export interface BaseSelection {
  rule: BaseRule;
  /** The base commit (a merge-base already), absent for `none`. */
  base?: string;
  /** The head commit; absent means the working tree, uncommitted and untracked files included. */
  head?: string;
  /** The commit the build is for: `head`, else `HEAD`. Images are tagged with it. */
  commit: string;
  /** One sentence for the summary and the annotation. */
  reason: string;
  /** What base selection had to do on the way (fetches, deepening). */
  notes: string[];
}

export interface SelectBaseOptions {
  /** `--base`; wins over NX_BASE. */
  base?: string;
  /** `--head`; wins over NX_HEAD. */
  head?: string;
  env: BuildkiteEnv;
  /** Default branch outside Buildkite (nx.json `defaultBase`, else `main`). */
  defaultBranch: string;
  /** Branches that deploy (deploy targets) compare with their own last green build. */
  isDeployBranch: (branch: string) => boolean;
  /** Turn "no base" into an error instead of running everything. */
  strict: boolean;
  git: Git;
  http: HttpGet;
  /** Default `origin`. */
  remote?: string;
  /** Buildkite API base URL. Default https://api.buildkite.com. */
  apiUrl?: string;
  /** Deadline and retry of the API call; defaults in buildkite-api.ts. */
  api?: Omit<BuildkiteApiOptions, 'baseUrl'>;
}

/** How far a shallow clone may be deepened before giving up: 50, 100, 200, … commits. */
const DEEPEN_STEPS = [50, 100, 200, 400, 800];

/** Picks the commit to compare with, per the rules in README "What will my change run?". */
export async function selectBase(options: SelectBaseOptions): Promise<BaseSelection> {
  const selection = await chooseBase(options);
  if (selection.rule === 'none' && options.strict) throw new BaseUnavailableError(selection.reason);
  return selection;
}

async function chooseBase(o: SelectBaseOptions): Promise<BaseSelection> {
  const { env, git } = o;
  const remote = o.remote ?? 'origin';
  const notes: string[] = [];

  const headRef = o.head ?? env.nxHead;
  let head: string | undefined;
  if (headRef !== undefined) {
    head = await git.resolveCommit(headRef);
    if (head === undefined) throw new UsageError(`--head ${JSON.stringify(headRef)} does not name a commit in this checkout; pass a branch, tag or sha.`);
  } else if (env.onBuildkite) {
    // CI compares commits, not the agent's working tree (installs and builds may dirty it).
    head = await git.resolveCommit('HEAD');
  }
  const commit = head ?? (await git.resolveCommit('HEAD'));
  if (commit === undefined) throw new UsageError('HEAD names no commit: the generator needs at least one commit.');
  const at = head ?? 'HEAD';
  const none = (reason: string): BaseSelection => ({ rule: 'none', ...(head ? { head } : {}), commit, reason, notes });
  const found = (rule: BaseRule, base: string, reason: string): BaseSelection => ({
    rule,
    base,
    ...(head ? { head } : {}),
    commit,
    reason,
    notes,
  });

  const explicit = o.base ?? env.nxBase;
  if (explicit !== undefined) {
    const source = o.base !== undefined ? '--base' : 'NX_BASE';
    const sha = await git.resolveCommit(explicit);
    if (sha === undefined) return none(`${source} ${JSON.stringify(explicit)} does not name a commit in this checkout.`);
    const mb = await mergeBaseDeepening(git, remote, sha, at, notes);
    if (mb === undefined) return none(`${source} ${explicit} shares no history with ${at}.`);
    return found('explicit', mb, `${source} ${explicit}${mb === sha ? '' : ` (merge-base ${short(mb)})`}.`);
  }

  if (!env.onBuildkite) {
    for (const candidate of [`${remote}/${o.defaultBranch}`, o.defaultBranch]) {
      const sha = await git.resolveCommit(candidate);
      if (sha === undefined) continue;
      const mb = await git.mergeBase(sha, at);
      if (mb !== undefined) return found('local', mb, `merge-base of ${candidate} and ${at}, plus uncommitted and untracked files.`);
    }
    const parent = await git.resolveCommit(`${at}~1`);
    if (parent !== undefined) return found('local', parent, `no ${remote}/${o.defaultBranch} or ${o.defaultBranch} here, so ${at}~1, plus uncommitted and untracked files.`);
    return none(`${at} is the first commit and there is no ${o.defaultBranch} branch to compare with.`);
  }

  if (env.tag !== undefined) {
    // A tag build publishes a release: every service gets its image and semver tag.
    return none(`tag build (${JSON.stringify(env.tag)}): a release rebuilds and tags every service.`);
  }

  if (env.pullRequest !== undefined) {
    const baseBranch = env.pullRequestBaseBranch ?? '';
    return (
      (await branchPoint(o, remote, baseBranch, at, notes, 'pull-request', `pull request #${env.pullRequest}`)) ??
      none(`pull request #${env.pullRequest}: no merge-base with ${remote}/${baseBranch} could be found, even after fetching.`)
    );
  }

  const branch = env.branch;
  const defaultBranch = env.defaultBranch ?? o.defaultBranch;
  if (branch !== undefined && branch !== defaultBranch && !o.isDeployBranch(branch)) {
    return (
      (await branchPoint(o, remote, defaultBranch, at, notes, 'branch-point', `branch ${JSON.stringify(branch)}`)) ??
      none(`branch ${JSON.stringify(branch)}: no merge-base with ${remote}/${defaultBranch} could be found, even after fetching.`)
    );
  }

  if (branch !== undefined && env.api !== undefined) {
    let last: string | undefined;
    try {
      last = await readLastPassedCommit(o.http, env.api, branch, { ...o.api, ...(o.apiUrl !== undefined ? { baseUrl: o.apiUrl } : {}) });
    } catch (error) {
      // Never fewer steps because of an error: without the last green commit, test everything.
      return none(`the last passed build could not be read (${(error as Error).message.split('\n')[0]}).`);
    }
    if (last === undefined) return none(`no passed build on ${JSON.stringify(branch)} yet (first build).`);
    if (!(await ensureCommit(git, remote, last, notes))) {
      return none(`last passed build's commit ${short(last)} is not reachable (force-push or deleted history).`);
    }
    if (!(await ancestorDeepening(git, remote, last, at, notes))) {
      return none(`last passed build's commit ${short(last)} is not an ancestor of ${short(commit)} (force-push).`);
    }
    return found('last-passed-build', last, `last passed build on ${JSON.stringify(branch)} was at ${short(last)}.`);
  }

  const parent = await parentDeepening(git, remote, at, notes);
  if (parent === undefined) return none(`${short(commit)} has no parent commit (first commit).`);
  const why = env.api === undefined ? 'no Buildkite API token configured' : 'no branch in the build environment';
  return found('parent-commit', parent, `${why}, so the parent commit ${short(parent)}.`);
}

async function branchPoint(o: SelectBaseOptions, remote: string, branch: string, at: string, notes: string[], rule: BaseRule, what: string): Promise<BaseSelection | undefined> {
  const { git } = o;
  if (!isSafeRef(branch)) {
    notes.push(`refused to use ${JSON.stringify(branch)} as a git ref.`);
    return undefined;
  }
  const ref = `${remote}/${branch}`;
  let sha = await git.resolveCommit(ref);
  if (sha === undefined && (await git.hasRemote(remote))) {
    const depth = (await git.isShallow()) ? ['--depth=50'] : [];
    if (await git.fetch(remote, [`+refs/heads/${branch}:refs/remotes/${ref}`], depth)) notes.push(`fetched ${ref}.`);
    sha = await git.resolveCommit(ref);
  }
  if (sha === undefined) {
    notes.push(`${ref} does not exist.`);
    return undefined;
  }
  const mb = await mergeBaseDeepening(git, remote, sha, at, notes);
  if (mb === undefined) return undefined;
  const head = at === 'HEAD' ? undefined : at;
  const commit = head ?? (await git.resolveCommit('HEAD')) ?? '';
  return { rule, base: mb, ...(head ? { head } : {}), commit, reason: `${what}: merge-base of ${ref} and ${short(commit)} is ${short(mb)}.`, notes };
}

async function deepenSteps(git: Git, remote: string, notes: string[], done: () => Promise<boolean>): Promise<boolean> {
  if (await done()) return true;
  for (const depth of DEEPEN_STEPS) {
    if (!(await git.isShallow())) return false;
    if (!(await git.deepen(remote, depth))) return false;
    notes.push(`deepened the shallow clone by ${depth} commits.`);
    if (await done()) return true;
  }
  if (await git.isShallow()) {
    if (await git.fetch(remote, [], ['--unshallow'])) notes.push('unshallowed the clone.');
    return done();
  }
  return false;
}

async function mergeBaseDeepening(git: Git, remote: string, a: string, b: string, notes: string[]): Promise<string | undefined> {
  let mb: string | undefined;
  const ok = await deepenSteps(git, remote, notes, async () => (mb = await git.mergeBase(a, b)) !== undefined);
  return ok ? mb : undefined;
}

export async function ancestorDeepening(git: Git, remote: string, ancestor: string, of: string, notes: string[]): Promise<boolean> {
  return deepenSteps(git, remote, notes, () => git.isAncestor(ancestor, of));
}

async function parentDeepening(git: Git, remote: string, at: string, notes: string[]): Promise<string | undefined> {
  let parent: string | undefined;
  if ((parent = await git.resolveCommit(`${at}~1`)) !== undefined) return parent;
  if ((await git.isShallow()) && (await git.deepen(remote, 1))) {
    notes.push('deepened the shallow clone by 1 commit.');
    parent = await git.resolveCommit(`${at}~1`);
  }
  return parent;
}

/** Makes sure `sha` is present: fetch it by id, else deepen a shallow clone until it shows up. */
export async function ensureCommit(git: Git, remote: string, sha: string, notes: string[]): Promise<boolean> {
  if ((await git.resolveCommit(sha)) !== undefined) return true;
  if (!(await git.hasRemote(remote))) return false;
  const depth = (await git.isShallow()) ? ['--depth=1'] : [];
  if (await git.fetch(remote, [sha], depth)) {
    notes.push(`fetched ${short(sha)} from ${remote}.`);
    if ((await git.resolveCommit(sha)) !== undefined) return true;
  }
  return deepenSteps(git, remote, notes, async () => (await git.resolveCommit(sha)) !== undefined);
}

function short(sha: string): string {
  return /^[0-9a-f]{40}$/.test(sha) ? sha.slice(0, 12) : sha;
}
