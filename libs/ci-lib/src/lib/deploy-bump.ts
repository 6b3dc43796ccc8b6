import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { DeployTarget, ServiceConfig } from '@engex/workspace-config';
import { deployTargetFor } from '@engex/workspace-config';
import { CommandFailedError, InfrastructureError, ManifestError, UsageError } from './errors.js';
import { setImageTag } from './kustomization.js';
import { backoffDelay, normalizeRetryOptions, type RetryOptions } from './retry.js';
import { runCommand } from './run-command.js';

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
}

export type DeployBumpResult =
  | { status: 'bumped'; repo: string; branch: string; path: string; image: string; tag: string; previousTag?: string; commit: string; attempts: number }
  | { status: 'already'; repo: string; branch: string; path: string; image: string; tag: string; commit: string };

/** A push lost a race with another writer; anything else (auth, hooks, network) is not retried. */
const RACE = /\(fetch first\)|\(non-fast-forward\)|failed to update ref|cannot lock ref|incorrect old value provided|\(stale info\)/;

/**
 * Clones the ops repo shallowly into a temp dir, sets the image tag, commits and pushes. When
 * another bump landed first, fetches, re-applies the edit on the new tip and pushes again
 * (bounded, jittered). A tag already current makes no commit. The temp clone is always removed.
 */
export async function deployBump(options: DeployBumpOptions): Promise<DeployBumpResult> {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(options.path) || options.path.split('/').includes('..')) {
    throw new UsageError(`--path ${JSON.stringify(options.path)} must be a relative path inside the ops repo, such as overlays/staging/kustomization.yaml`);
  }
  const retry = normalizeRetryOptions({ attempts: 8, baseDelayMs: 500, maxDelayMs: 8000, ...options.retry });
  const log = options.log ?? (() => {});
  const dir = await mkdtemp(join(tmpdir(), 'engex-bump-'));
  const work = join(dir, 'repo');
  const env = {
    ...(options.env ?? process.env),
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: options.author.name,
    GIT_AUTHOR_EMAIL: options.author.email,
    GIT_COMMITTER_NAME: options.author.name,
    GIT_COMMITTER_EMAIL: options.author.email,
  };
  const git = (args: string[], allowFailure = false) => runCommand('git', args, { cwd: work, env, allowFailure });
  try {
    await runCommand('git', ['clone', '--quiet', '--depth', '1', '--no-tags', ...(options.branch ? ['--branch', options.branch] : []), '--', options.repo, work], { env, cwd: dir });
    const branch = options.branch ?? (await git(['symbolic-ref', '--short', 'HEAD'])).stdout.trim();
    const file = join(work, options.path);
    const message = renderBumpCommitMessage({ ...options.message, image: options.image, tag: options.tag, path: options.path });

    for (let attempt = 1; ; attempt++) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new ManifestError(`${options.path} does not exist in ${options.repo} (branch ${branch}); create the overlay first or fix deployTargets`);
        }
        throw error;
      }
      const edit = setImageTag(text, options.image, options.tag, options.path);
      const head = (await git(['rev-parse', 'HEAD'])).stdout.trim();
      if (!edit.changed) {
        return { status: 'already', repo: options.repo, branch, path: options.path, image: options.image, tag: options.tag, commit: head };
      }
      await writeFile(file, edit.text);
      await git(['add', '--', options.path]);
      await git(['commit', '--quiet', '--no-verify', '-m', message]);
      const push = await git(['push', '--porcelain', 'origin', `HEAD:refs/heads/${branch}`], true);
      if (push.exitCode === 0) {
        const commit = (await git(['rev-parse', 'HEAD'])).stdout.trim();
        return {
          status: 'bumped',
          repo: options.repo,
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
        throw new InfrastructureError(`gave up bumping ${options.path} after ${attempt} attempts: other pushes to ${options.repo} ${branch} kept landing first`);
      }
      const delay = backoffDelay(attempt, retry);
      log(`push to ${branch} lost a race (attempt ${attempt}/${retry.attempts}); re-applying on the new tip in ${delay} ms`);
      await retry.sleep(delay);
      await git(['fetch', '--quiet', '--depth', '1', 'origin', branch]);
      await git(['reset', '--quiet', '--hard', 'FETCH_HEAD']);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
