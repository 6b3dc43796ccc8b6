import { rmSync } from 'node:fs';
import { mkdtemp, readFile, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { DEFAULT_DEADLINES, deadlineHint } from './deadlines.js';
import { decideDirection, type CommitRelation } from './deploy-guard.js';
import { CommandFailedError, DeadlineExceededError, InfrastructureError, ManifestError, UsageError } from './errors.js';
import { onInterrupt } from './exit-cleanup.js';
import {
  KustomizationTooLargeError,
  MAX_KUSTOMIZATION_BYTES,
  appendImageEntry,
  assertEditRequest,
  applyEntryEdits,
  pickKustomizationFile,
  readImageEntries,
  setImageTag,
  withoutImages,
  type ImageEditRequest,
} from './kustomization.js';
import { ImageNotReachedError, ImageRenderMismatchError, isServiceImage, planImageEdits, readContainerImages, splitImage, type ContainerImage } from './kustomize-images.js';
import { findKustomizeRenderer, renderKustomization, type KustomizeRenderer } from './kustomize-render.js';
import { redact } from './redact.js';
import { backoffDelay, normalizeRetryOptions, type RetryOptions } from './retry.js';
import { runCommand } from './run-command.js';
import { TEMP_PREFIX, sweepStaleTempDirs } from './temp-sweep.js';

export interface BumpMessageInputs {
  /** The service, e.g. `halow`. */
  service: string;
  image: string;
  tag: string;
  /** The tag the overlay ran before, when it had one. */
  previousTag?: string;
  /** The pushed manifest digest, when known. */
  digest?: string;
  /** The kustomization file that was edited, relative to the ops repo root. */
  path: string;
  /** The source commit being deployed. */
  revision: string;
  buildUrl?: string;
  /** Source repository URL (config `source`); `/commit/<revision>` is appended. */
  sourceUrl: string;
}

/** Pure: the ops commit message: what changed, from which build, and what exactly now runs. */
export function renderBumpCommitMessage(inputs: BumpMessageInputs): string {
  const overlay = posix.dirname(inputs.path);
  const source = inputs.sourceUrl.replace(/\.git$/, '').replace(/\/+$/, '');
  return [
    `Deploy ${inputs.service} ${inputs.tag.slice(0, 12)} to ${overlay}`,
    '',
    `Set the newTag of ${inputs.image} to ${inputs.tag} in ${inputs.path}.`,
    '',
    `Service: ${inputs.service}`,
    `Change: ${inputs.previousTag ?? '(no tag)'} -> ${inputs.tag}`,
    `Digest: ${inputs.digest ?? '(not recorded)'}`,
    `Revision: ${inputs.revision}`,
    `Build: ${inputs.buildUrl ?? '(local run)'}`,
    `Source: ${source}/commit/${inputs.revision}`,
    '',
  ].join('\n');
}

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
    ...(options.pinDigest && options.digest !== undefined ? { digest: options.digest } : {}),
    ...(options.aliases ? { aliases: options.aliases } : {}),
    ...(options.create ? { create: true } : {}),
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
      let next: { text: string; current: string | undefined; created: boolean; before?: ContainerImage[]; keys?: Set<string> };
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
        ...(next.current !== undefined ? { previousTag: next.current } : {}),
        ...(options.digest !== undefined ? { digest: options.digest } : {}),
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
          ...(next.before ? { proof: { renderer: (renderer as KustomizeRenderer).argv.join(' '), containers: serviceOf(next.before) } } : {}),
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
          ...(next.current !== undefined ? { previousTag: next.current } : {}),
          created: next.created,
          commit,
          attempts: attempt,
          ...(proof ? { proof } : {}),
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

const containerKey = (c: ContainerImage): string => `${c.resource} ${c.path}`;

/**
 * The edit, decided from kustomize's own output: the render picks the service's containers and
 * what they run now; a render without the overlay's `images` gives each image's name as the
 * overlay's images transformer sees it, and planImageEdits follows kustomize's matching from there.
 */
async function planFromRender(
  text: string,
  path: string,
  file: string,
  render: (label: string) => Promise<ContainerImage[]>,
  o: { names: readonly string[]; want: string; request: ImageEditRequest },
): Promise<{ text: string; current: string | undefined; created: boolean; before: ContainerImage[]; keys: Set<string> }> {
  const entries = readImageEntries(text, path);
  const before = await render('as committed');
  await writeFile(file, withoutImages(text, path));
  let written: ContainerImage[];
  try {
    written = await render('without its images');
  } finally {
    await writeFile(file, text);
  }
  const writtenByKey = new Map(written.map((c) => [containerKey(c), c]));
  const service = before.filter((c) => isServiceImage(c.image, o.names) || isServiceImage(writtenByKey.get(containerKey(c))?.image ?? '', o.names));
  if (service.length === 0) {
    throw new ImageRenderMismatchError(path, o.request.image, 'no container of the rendered overlay runs it (compared the repository with and without registry host)', before);
  }
  const keys = new Set(service.map(containerKey));
  // What runs now, for the rollback guard: the first container's tag (containers sort before
  // initContainers in kustomize's output), so containers that disagree never skip the guard.
  const current = service.map((c) => splitImage(c.image).tag).find(Boolean);
  if (service.every((c) => c.image === o.want)) return { text, current, created: false, before, keys };
  const inputs = service.map((c) => writtenByKey.get(containerKey(c)) ?? c);
  const { digest } = o.request;
  try {
    const edits = planImageEdits({ written: inputs, entries, image: o.request.image, tag: o.request.tag, ...(digest !== undefined ? { digest } : {}), file: path });
    return { text: applyEntryEdits(text, edits, path), current, created: false, before, keys };
  } catch (error) {
    const names = [...new Set(inputs.map((c) => splitImage(c.image).name))];
    if (!(error instanceof ImageNotReachedError) || !o.request.create || names.length !== 1 || error.unreached.length !== inputs.length) throw error;
    const name = names[0]!;
    const created = appendImageEntry(
      text,
      { name, ...(name !== o.request.image ? { newName: o.request.image } : {}), newTag: o.request.tag, ...(digest !== undefined ? { digest } : {}) },
      path,
    );
    return { text: created.text, current, created: true, before, keys };
  }
}

/** The file's text, refused before reading when it is larger than a kustomization can be. */
async function readBounded(file: string, path: string): Promise<string> {
  const { size } = await stat(file);
  if (size > MAX_KUSTOMIZATION_BYTES) throw new KustomizationTooLargeError(path, size);
  return readFile(file, 'utf8');
}

/** A path of the clone that resolves (through symlinks) outside it, or into its .git. */
export class OutsideCloneError extends ManifestError {
  constructor(readonly path: string) {
    super(
      `${path} is a symlink that resolves outside the ops repo clone (or into its .git); engex-ci edits only files of the repository. Replace the symlink with the file, or point deployTargets[].overlay at the real overlay.`,
    );
  }
}

/** `rel` resolved through symlinks, as a path relative to the clone; refused when it leaves the clone. */
export async function insideClone(work: string, rel: string): Promise<string> {
  const root = await realpath(work);
  const real = await realpath(join(work, rel));
  const inside = relative(root, real);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside) || inside === '.git' || inside.startsWith(`.git${sep}`)) throw new OutsideCloneError(rel);
  return inside.split(sep).join('/');
}

/**
 * The kustomization of `overlay` in the clone, under whichever of kustomize's names it has, and
 * the directory to render. Symlinks are followed only while they stay inside the clone: the edit
 * and `git add` go to the real file, and anything outside is refused before it is read.
 */
async function resolveKustomization(work: string, overlay: string, repo: string, branch: string): Promise<{ path: string; renderDir: string }> {
  let entries: string[];
  try {
    await insideClone(work, overlay);
    entries = await readdir(join(work, overlay));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A path to the file itself names the overlay by its kustomization.
    if (code === 'ENOTDIR') return { path: await insideClone(work, overlay), renderDir: posix.dirname(overlay) };
    if (code === 'ENOENT') throw new ManifestError(`${overlay} does not exist in ${repo} (branch ${branch}); create the overlay first or fix deployTargets`);
    throw error;
  }
  const name = pickKustomizationFile(overlay, entries);
  return { path: await insideClone(work, posix.join(overlay, name)), renderDir: overlay };
}
