import { DEFAULT_DEADLINES, deadlineHint } from './deadlines.js';
import { DeadlineExceededError, EXIT_CODES, errorKind } from './errors.js';
import { FULL_SHA_PATTERN } from './tags.js';
import { runCommand } from './run-command.js';

/** How the commit being deployed relates to the one the overlay runs now, in the source repo. */
export type CommitRelation =
  | { kind: 'same' }
  | { kind: 'newer' }
  | { kind: 'older'; currentDate: string; nextDate: string }
  | { kind: 'diverged' }
  /** What runs is no commit at all (no tag yet, a placeholder such as `bootstrap`): nothing to go back from. */
  | { kind: 'untracked'; reason: string }
  /** What runs is a commit, but its ancestry could not be read (missing here, fetch failed). */
  | { kind: 'unknown'; reason: string };

export interface DirectionVerdict {
  /** Said on stderr before the bump; absent when there is nothing worth saying. */
  note?: string;
}

/**
 * The commit being deployed is an ancestor of what the overlay runs now: a rebuild of an old
 * build, or an old branch build that finished late. Deploying it would silently go backwards.
 */
export class RollbackRefusedError extends errorKind('ROLLBACK_REFUSED', EXIT_CODES.checkFailed) {
  constructor(
    readonly overlay: string,
    readonly current: { sha: string; date: string },
    readonly next: { sha: string; date: string },
  ) {
    super(
      `Refusing to roll ${overlay} back: it runs ${current.sha} (committed ${current.date}), and ${next.sha} (committed ${next.date}) is an older commit of the same history.\n` +
        'Nothing was pushed. To go back on purpose, run the deploy with --allow-rollback, or set ENGEX_ALLOW_ROLLBACK=1 in the Buildkite build\'s environment ("New Build" → Environment Variables).',
    );
  }
}

/**
 * The overlay runs a commit whose relation to the new one could not be read: deploying could be a
 * rollback. Exit 4, so Buildkite retries the step (a fetch may pass next time).
 */
export class RollbackUncheckedError extends errorKind('ROLLBACK_UNCHECKED', EXIT_CODES.infrastructure) {
  constructor(
    readonly overlay: string,
    readonly current: string,
    readonly next: string,
    readonly reason: string,
  ) {
    super(
      `Cannot tell whether deploying ${next} to ${overlay} goes backwards: it runs ${current}, and ${reason}. Nothing was pushed.\n` +
        'Fetch the history on the agent (a full clone, or an origin that answers) and retry; to deploy anyway, run with --allow-rollback or ENGEX_ALLOW_ROLLBACK=1.',
    );
  }
}

/**
 * Pure: may `next` replace what the overlay runs now? Going backwards is refused (exit 1), and so is
 * a commit whose ancestry cannot be read (exit 4): the guard fails closed. A tag that is no commit
 * (a placeholder, no tag yet) is reported and deployed over; --allow-rollback overrides the rest.
 */
export function decideDirection(input: { overlay: string; current: string | undefined; next: string; relation: CommitRelation; allowRollback: boolean }): DirectionVerdict {
  const { relation, current } = input;
  switch (relation.kind) {
    case 'same':
    case 'newer':
      return {};
    case 'diverged':
      return { note: `${input.overlay} runs ${current}, which is not in the history of ${input.next} (another branch, or rewritten history); deploying over it` };
    case 'untracked':
      return { note: `${input.overlay} runs ${current ?? 'no tag yet'}: ${relation.reason}; nothing to roll back from, deploying` };
    case 'unknown':
      if (input.allowRollback) return { note: `${input.overlay} runs ${current}: ${relation.reason}; deploying ${input.next} without the ancestry check (--allow-rollback)` };
      throw new RollbackUncheckedError(input.overlay, current ?? '(none)', input.next, relation.reason);
    case 'older':
      if (input.allowRollback)
        return { note: `rolling ${input.overlay} back from ${current} (${relation.currentDate}) to ${input.next} (${relation.nextDate}) on purpose (--allow-rollback)` };
      throw new RollbackRefusedError(input.overlay, { sha: current!, date: relation.currentDate }, { sha: input.next, date: relation.nextDate });
  }
}

export interface ReadRelationOptions {
  /** The source repository checkout (the build's working directory). */
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** For all git calls together, fetching history included. Default: the git deadline (120 s). */
  deadlineMs?: number;
}

/**
 * Reads how `next` relates to `current` with git in the source checkout. A shallow clone (common
 * on CI agents) may lack `current` or the history between them, so it is fetched once before
 * answering "unknown".
 */
export async function readCommitRelation(current: string | undefined, next: string, options: ReadRelationOptions): Promise<CommitRelation> {
  if (current === undefined) return { kind: 'untracked', reason: 'the overlay renders no tag' };
  if (!FULL_SHA_PATTERN.test(current)) return { kind: 'untracked', reason: 'its tag is not a commit sha' };
  if (current === next) return { kind: 'same' };
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINES.gitMs;
  const started = Date.now();
  const git = (args: string[]) =>
    runCommand('git', args, {
      cwd: options.cwd,
      env: { ...(options.env ?? process.env), GIT_TERMINAL_PROMPT: '0' },
      allowFailure: true,
      deadline: {
        ms: Math.max(1, deadlineMs - (Date.now() - started)),
        error: () => new DeadlineExceededError(`rollback check (git ${args[0]})`, 'origin', Date.now() - started, deadlineMs, deadlineHint('gitMs')),
      },
    });
  const has = async (sha: string) => (await git(['cat-file', '-e', `${sha}^{commit}`])).exitCode === 0;
  const shallow = (await git(['rev-parse', '--is-shallow-repository'])).stdout.trim() === 'true';
  if (!(await has(current)) || shallow) {
    // Ancestry needs the history between the two commits, not just the commits themselves.
    if (shallow) await git(['fetch', '--quiet', '--no-tags', '--unshallow', 'origin']);
    if (!(await has(current))) await git(['fetch', '--quiet', '--no-tags', 'origin', current]);
  }
  if (!(await has(current)))
    return {
      kind: 'unknown',
      reason: 'that commit is not in this checkout, and fetching it from origin failed (shallow clone, unreachable origin, force-pushed away, or another repository)',
    };
  if (!(await has(next))) return { kind: 'unknown', reason: `the commit being deployed, ${next}, is not in this checkout` };
  if ((await git(['merge-base', '--is-ancestor', next, current])).exitCode === 0) {
    // UTC, seconds precision: both dates read the same way whatever the committers' time zones.
    const date = async (sha: string) => new Date((await git(['show', '-s', '--format=%cI', sha])).stdout.trim()).toISOString().replace('.000Z', 'Z');
    return { kind: 'older', currentDate: await date(current), nextDate: await date(next) };
  }
  if ((await git(['merge-base', '--is-ancestor', current, next])).exitCode === 0) return { kind: 'newer' };
  return { kind: 'diverged' };
}
