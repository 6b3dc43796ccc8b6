import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { DeployTarget, ServiceConfig } from './config.js';
import { deployTargetFor } from './config.js';
import { DEFAULT_DEADLINES, deadlineHint } from './deadlines.js';
import { CommandFailedError, DeadlineExceededError, InfrastructureError, ManifestError, UsageError } from './errors.js';
import { onInterrupt } from './exit-cleanup.js';
import { setImageTag } from './kustomization.js';
import { redact } from './redact.js';
import { backoffDelay, normalizeRetryOptions, type RetryOptions } from './retry.js';
import { runCommand } from './run-command.js';
import { TEMP_PREFIX, sweepStaleTempDirs } from './temp-sweep.js';

export interface DeployPlan {
  /** The ops repo to clone. */
  repo: string;
  overlay: string;
  /** `<overlay>/kustomization.yaml`. */
  path: string;
  /** `images[].name` to set. */
  image: string;
}

/** Pure: where a build of `branch` deploys this service, or undefined when the branch does not deploy. */
export function planDeploy(service: Pick<ServiceConfig, 'opsRepo' | 'deployImageName' | 'deployTargets'>, branch: string): DeployPlan | undefined {
  const target: DeployTarget | undefined = deployTargetFor(branch, service.deployTargets);
  if (!target) return undefined;
  return { repo: service.opsRepo, overlay: target.overlay, path: posix.join(target.overlay, 'kustomization.yaml'), image: service.deployImageName };
}

export interface BumpMessageInputs {
  image: string;
  tag: string;
  path: string;
  /** The source commit being deployed. */
  revision: string;
  buildUrl?: string;
  /** Source repository URL (config `source`); `/commit/<revision>` is appended. */
  sourceUrl: string;
}

/** Pure: the ops commit message, carrying the revision, the build and the source commit link. */
export function renderBumpCommitMessage(inputs: BumpMessageInputs): string {
  const name = inputs.image.split('/').pop()!.split(':')[0];
  const overlay = posix.dirname(inputs.path);
  const source = inputs.sourceUrl.replace(/\.git$/, '').replace(/\/+$/, '');
  return [
    `Deploy ${name} ${inputs.tag.slice(0, 12)} to ${overlay}`,
    '',
    `Set images[name=${inputs.image}].newTag to ${inputs.tag} in ${inputs.path}.`,
    '',
    `Revision: ${inputs.revision}`,
    `Build: ${inputs.buildUrl ?? '(local run)'}`,
    `Source: ${source}/commit/${inputs.revision}`,
    '',
  ].join('\n');
}

export interface DeployBumpOptions {
  repo: string;
  /** `<overlay>/kustomization.yaml`, relative to the repo root. */
  path: string;
  image: string;
  tag: string;
  message: Omit<BumpMessageInputs, 'image' | 'tag' | 'path'>;
  /** Default: the remote's default branch. */
  branch?: string;
  author: { name: string; email: string };
  /** Push attempts when other bumps keep landing first. Default 8 attempts, 500 ms doubling to 8 s. */
  retry?: Partial<RetryOptions>;
  /** Environment of git (GIT_SSH_COMMAND, credentials helpers...). Default: inherited. */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /**
   * Overall deadline of the bump (clone, fetches, pushes, waits). Each git child is killed when it
   * runs out. Default 120 s (`DEFAULT_DEADLINES.gitMs`).
   */
  deadlineMs?: number;
  /** Where the temp clone goes, and where leftovers of killed runs are swept. Default os.tmpdir(). */
  tmpRoot?: string;
}

/** `repo` in a result is redacted: it is printed. */
export type DeployBumpResult =
  | { status: 'bumped'; repo: string; branch: string; path: string; image: string; tag: string; previousTag?: string; commit: string; attempts: number }
  | { status: 'already'; repo: string; branch: string; path: string; image: string; tag: string; commit: string };

/** A push lost a race with another writer; anything else (auth, hooks, network) is not retried. */
const RACE = /\(fetch first\)|\(non-fast-forward\)|failed to update ref|cannot lock ref|incorrect old value provided|\(stale info\)/;

/** Git aborts a transfer slower than this many bytes/s for `lowSpeedTime` (curl's low-speed limit). */
const LOW_SPEED_LIMIT = 1000;

/** Pure: the host a git URL talks to, for messages (`https://u:t@h/x` → `h`, `git@h:x` → `h`, a path stays a path). */
export function gitRemoteHost(repo: string): string {
  try {
    const url = new URL(repo);
    if (url.host) return url.host;
  } catch {
    // Not a URL: scp-like or a local path.
  }
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)/.exec(repo);
  return scp ? scp[1]! : redact(repo);
}

/**
 * Pure: `-c` options that make git itself give up on a stalled HTTP transfer (30 s under 1 KB/s).
 * Never shorter than the deadline's whole seconds, so with a short deadline ours fires first and
 * the message names the operation, host and time.
 */
export function gitLowSpeedArgs(deadlineMs: number): string[] {
  const seconds = Math.max(1, Math.min(30, Math.ceil(deadlineMs / 1000)));
  return ['-c', `http.lowSpeedLimit=${LOW_SPEED_LIMIT}`, '-c', `http.lowSpeedTime=${seconds}`];
}

/**
 * Clones the ops repo shallowly into a temp dir, sets the image tag, commits and pushes. When
 * another bump landed first, fetches, re-applies the edit on the new tip and pushes again
 * (bounded, jittered). A tag already current makes no commit. The whole bump has one deadline; the
 * temp clone is always removed, also on SIGINT/SIGTERM (via exit-cleanup), and leftovers of killed
 * runs are swept first.
 */
export async function deployBump(options: DeployBumpOptions): Promise<DeployBumpResult> {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(options.path) || options.path.split('/').includes('..')) {
    throw new UsageError(`--path ${JSON.stringify(options.path)} must be a relative path inside the ops repo, such as overlays/staging/kustomization.yaml`);
  }
  const retry = normalizeRetryOptions({ attempts: 8, baseDelayMs: 500, maxDelayMs: 8000, ...options.retry });
  const log = options.log ?? (() => {});
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINES.gitMs;
  const started = Date.now();
  const safeRepo = redact(options.repo);
  const host = gitRemoteHost(options.repo);
  const tmpRoot = options.tmpRoot ?? tmpdir();
  const swept = await sweepStaleTempDirs(tmpRoot, { nowMs: Date.now() });
  if (swept.length > 0) log(`removed ${swept.length} temp clone${swept.length === 1 ? '' : 's'} left by killed runs: ${swept.join(', ')}`);
  const dir = await mkdtemp(join(tmpRoot, `${TEMP_PREFIX}${process.pid}-`));
  const forget = onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
  const work = join(dir, 'repo');
  const env = {
    ...(options.env ?? process.env),
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: options.author.name,
    GIT_AUTHOR_EMAIL: options.author.email,
    GIT_COMMITTER_NAME: options.author.name,
    GIT_COMMITTER_EMAIL: options.author.email,
  };
  const lowSpeed = gitLowSpeedArgs(deadlineMs);
  const deadline = (operation: string) => {
    const remaining = deadlineMs - (Date.now() - started);
    if (remaining <= 0) throw new DeadlineExceededError(`deploy bump (git ${operation})`, host, Date.now() - started, deadlineMs, deadlineHint('gitMs'));
    return { ms: remaining, error: () => new DeadlineExceededError(`deploy bump (git ${operation})`, host, Date.now() - started, deadlineMs, deadlineHint('gitMs')) };
  };
  const git = (args: string[], allowFailure = false) => runCommand('git', [...lowSpeed, ...args], { cwd: work, env, allowFailure, deadline: deadline(args[0]!) });
  try {
    await runCommand('git', [...lowSpeed, 'clone', '--quiet', '--depth', '1', '--no-tags', ...(options.branch ? ['--branch', options.branch] : []), '--', options.repo, work], {
      env,
      cwd: dir,
      deadline: deadline('clone'),
    });
    const branch = options.branch ?? (await git(['symbolic-ref', '--short', 'HEAD'])).stdout.trim();
    const file = join(work, options.path);
    const message = renderBumpCommitMessage({ ...options.message, image: options.image, tag: options.tag, path: options.path });

    for (let attempt = 1; ; attempt++) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new ManifestError(`${options.path} does not exist in ${safeRepo} (branch ${branch}); create the overlay first or fix deployTargets`);
        }
        throw error;
      }
      const edit = setImageTag(text, options.image, options.tag, options.path);
      const head = (await git(['rev-parse', 'HEAD'])).stdout.trim();
      if (!edit.changed) {
        return { status: 'already', repo: safeRepo, branch, path: options.path, image: options.image, tag: options.tag, commit: head };
      }
      await writeFile(file, edit.text);
      await git(['add', '--', options.path]);
      await git(['commit', '--quiet', '--no-verify', '-m', message]);
      const push = await git(['push', '--porcelain', 'origin', `HEAD:refs/heads/${branch}`], true);
      if (push.exitCode === 0) {
        const commit = (await git(['rev-parse', 'HEAD'])).stdout.trim();
        return {
          status: 'bumped',
          repo: safeRepo,
          branch,
          path: options.path,
          image: options.image,
          tag: options.tag,
          ...(edit.previousTag ? { previousTag: edit.previousTag } : {}),
          commit,
          attempts: attempt,
        };
      }
      const output = `${push.stderr}\n${push.stdout}`;
      if (!RACE.test(output)) throw new CommandFailedError('git push', push.exitCode, output.trim());
      if (attempt >= retry.attempts) {
        throw new InfrastructureError(`gave up bumping ${options.path} after ${attempt} attempts: other pushes to ${safeRepo} ${branch} kept landing first`);
      }
      const delay = backoffDelay(attempt, retry);
      if (Date.now() + delay - started >= deadlineMs) {
        throw new DeadlineExceededError(`deploy bump (push race, attempt ${attempt})`, host, Date.now() - started, deadlineMs, deadlineHint('gitMs'));
      }
      log(`push to ${branch} lost a race (attempt ${attempt}/${retry.attempts}); re-applying on the new tip in ${delay} ms`);
      await retry.sleep(delay);
      await git(['fetch', '--quiet', '--depth', '1', 'origin', branch]);
      await git(['reset', '--quiet', '--hard', 'FETCH_HEAD']);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    forget();
  }
}
