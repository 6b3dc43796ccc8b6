import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DEADLINES, deadlineHint } from './deadlines.js';
import { renderBumpCommitMessage, type BumpMessageInputs } from './deploy-bump-message.js';
import { containerKey, planFromRender, type RenderedEdit } from './deploy-bump-render.js';
import { decideDirection, type CommitRelation } from './deploy-guard.js';
import { CommandFailedError, DeadlineExceededError, InfrastructureError, UsageError } from './errors.js';
import { onInterrupt } from './exit-cleanup.js';
import { assertEditRequest, setImageTag, type ImageEditRequest } from './kustomization.js';
import { ImageRenderMismatchError, readContainerImages, type ContainerImage } from './kustomize-images.js';
import { findKustomizeRenderer, renderKustomization, type KustomizeRenderer } from './kustomize-render.js';
import { gitLowSpeedArgs, gitRemoteHost, readBounded, resolveKustomization } from './ops-clone.js';
import { redact } from './redact.js';
import { backoffDelay, normalizeRetryOptions, type RetryOptions } from './retry.js';
import { runCommand } from './run-command.js';
import { TEMP_PREFIX, sweepStaleTempDirs } from './temp-sweep.js';

export interface DeployBumpOptions {
  repo: string;
  /**
   * The overlay directory, relative to the repo root; its kustomization is found under any of
   * kustomize's file names. A path to the file itself is accepted too.
   */
  overlay: string;
  image: string;
  tag: string;
  /** Other names the `images[]` entry may carry (the service's `deployImageName`). */
  aliases?: readonly string[];
  /** The pushed digest: written with newTag when the target pins digests (`pinDigest`), else only recorded in the commit. */
  digest?: string;
  pinDigest?: boolean;
  /** Add an `images[]` entry when none matches (default: refuse). */
  create?: boolean;
  /**
   * How the deployed commit relates to what runs now (read in the source repo); called with the
   * current tag before anything is pushed. Without it, no direction check is made.
   */
  relation?: (currentTag: string | undefined) => Promise<CommitRelation>;
  /** Deploy an older commit on purpose. */
  allowRollback?: boolean;
  message: Omit<BumpMessageInputs, 'image' | 'tag' | 'path' | 'previousTag' | 'digest'>;
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
  /**
   * How the overlay is rendered to prove the bump (default: found up front, `kubectl kustomize`
   * else `kustomize build`, and a clear error when neither runs). `'skip'` bumps without the proof:
   * only an entry whose name or newName is exactly the image is edited, and the result says so.
   */
  renderer?: KustomizeRenderer | 'skip';
}

/** What the render showed for the service's containers after the bump (absent with `renderer: 'skip'`). */
export interface RenderProof {
  renderer: string;
  /** Every container of the service, at the new reference. */
  containers: ContainerImage[];
}

/** `repo` in a result is redacted: it is printed. */
export type DeployBumpResult =
  | {
      status: 'bumped';
      repo: string;
      branch: string;
      path: string;
      image: string;
      tag: string;
      previousTag?: string;
      created: boolean;
      commit: string;
      attempts: number;
      proof?: RenderProof;
    }
  | { status: 'already'; repo: string; branch: string; path: string; image: string; tag: string; commit: string; proof?: RenderProof };

/** A push lost a race with another writer; anything else (auth, hooks, network) is not retried. */
const RACE = /\(fetch first\)|\(non-fast-forward\)|failed to update ref|cannot lock ref|incorrect old value provided|\(stale info\)/;

/**
 * Clones the ops repo shallowly into a temp dir, sets the image tag, commits and pushes. When
 * another bump landed first, fetches, re-applies the edit on the new tip and pushes again
 * (bounded, jittered). A tag already current makes no commit. The whole bump has one deadline; the
 * temp clone is always removed, also on SIGINT/SIGTERM (via exit-cleanup), and leftovers of killed
 * runs are swept first.
 */
export async function deployBump(options: DeployBumpOptions): Promise<DeployBumpResult> {
  const overlay = options.overlay.replace(/\/+$/, '');
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(overlay) || overlay.split('/').includes('..')) {
    throw new UsageError(`overlay ${JSON.stringify(options.overlay)} must be a relative path inside the ops repo, such as overlays/staging`);
  }
  if (options.pinDigest && options.digest === undefined) throw new UsageError('pinDigest needs the pushed digest (--digest sha256:…)');
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
  const request: ImageEditRequest = {
    image: options.image,
    tag: options.tag,
    digest: options.pinDigest ? options.digest : undefined,
    aliases: options.aliases,
    create: options.create,
  };
  try {
    assertEditRequest(request);
    // Up front, before the clone: a deploy agent without kustomize fails in seconds with the fix.
    const renderer = options.renderer ?? (await findKustomizeRenderer(env));
    await runCommand('git', [...lowSpeed, 'clone', '--quiet', '--depth', '1', '--no-tags', ...(options.branch ? ['--branch', options.branch] : []), '--', options.repo, work], {
      env,
      cwd: dir,
      deadline: deadline('clone'),
    });
    const branch = options.branch ?? (await git(['symbolic-ref', '--short', 'HEAD'])).stdout.trim();
    const { path, renderDir } = await resolveKustomization(work, overlay, safeRepo, branch);
    const file = join(work, path);
    const names = [options.image, ...(options.aliases ?? [])];
    const want = `${options.image}:${options.tag}${request.digest !== undefined ? `@${request.digest}` : ''}`;
    const render = async (label: string): Promise<ContainerImage[]> =>
      readContainerImages(
        await renderKustomization(renderer as KustomizeRenderer, join(work, renderDir), { env, deadlineMs: deadline('render').ms, label: `${renderDir} (${label})` }),
      );

    for (let attempt = 1; ; attempt++) {
      const text = await readBounded(file, path);
      let next: Pick<RenderedEdit, 'text' | 'current' | 'created'> & Partial<RenderedEdit>;
      if (renderer === 'skip') {
        const edit = setImageTag(text, request, path);
        next = { text: edit.text, current: edit.previous.tag, created: edit.created };
      } else {
        next = await planFromRender(text, path, file, render, { names, want, request });
      }
      const changed = next.text !== text;
      // Checked on every attempt: a newer deploy may have landed while this one waited.
      if (options.relation && changed) {
        const verdict = decideDirection({
          overlay: path,
          current: next.current,
          next: options.tag,
          relation: await options.relation(next.current),
          allowRollback: options.allowRollback ?? false,
        });
        if (verdict.note) log(verdict.note);
      }
      const message = renderBumpCommitMessage({
        ...options.message,
        image: options.image,
        tag: options.tag,
        path,
        previousTag: next.current,
        digest: options.digest,
      });
      const head = (await git(['rev-parse', 'HEAD'])).stdout.trim();
      const serviceOf = (images: ContainerImage[]) => images.filter((c) => next.keys?.has(containerKey(c)));
      if (!changed) {
        return {
          status: 'already',
          repo: safeRepo,
          branch,
          path,
          image: options.image,
          tag: options.tag,
          commit: head,
          proof: next.before && { renderer: (renderer as KustomizeRenderer).argv.join(' '), containers: serviceOf(next.before) },
        };
      }
      await writeFile(file, next.text);
      let proof: RenderProof | undefined;
      if (renderer !== 'skip') {
        // The proof: what kustomize renders now, before anything is committed.
        const after = await render('after the edit');
        const byKey = new Map(next.before!.map((c) => [containerKey(c), c.image]));
        const wrong = after.filter((c) => (next.keys!.has(containerKey(c)) ? c.image !== want : byKey.get(containerKey(c)) !== c.image));
        if (wrong.length > 0 || after.length !== next.before!.length) {
          throw new ImageRenderMismatchError(
            path,
            options.image,
            `after the edit the render does not show exactly the service's containers at ${want} (the lines below; other containers must not change)`,
            wrong.length > 0 ? wrong : after,
          );
        }
        proof = { renderer: renderer.argv.join(' '), containers: serviceOf(after) };
      }
      await git(['add', '--', path]);
      await git(['commit', '--quiet', '--no-verify', '-m', message]);
      const push = await git(['push', '--porcelain', 'origin', `HEAD:refs/heads/${branch}`], true);
      if (push.exitCode === 0) {
        const commit = (await git(['rev-parse', 'HEAD'])).stdout.trim();
        return {
          status: 'bumped',
          repo: safeRepo,
          branch,
          path,
          image: options.image,
          tag: options.tag,
          previousTag: next.current,
          created: next.created,
          commit,
          attempts: attempt,
          proof,
        };
      }
      const output = `${push.stderr}\n${push.stdout}`;
      if (!RACE.test(output)) throw new CommandFailedError('git push', push.exitCode, output.trim());
      if (attempt >= retry.attempts) {
        throw new InfrastructureError(`gave up bumping ${path} after ${attempt} attempts: other pushes to ${safeRepo} ${branch} kept landing first`);
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
