import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { DeployTarget, ServiceConfig } from '@engex/workspace-config';
import { gitLowSpeedArgs, gitRemoteHost, insideClone } from './deploy-bump.js';
import { deadlineHint } from './deadlines.js';
import { CommandFailedError, DeadlineExceededError, ManifestError } from './errors.js';
import { pickKustomizationFile } from './kustomization.js';
import { isServiceImage, readContainerImages, splitImage } from './kustomize-images.js';
import { findKustomizeRenderer, renderKustomization, type KustomizeRenderer } from './kustomize-render.js';
import { redact } from './redact.js';
import type { RegistryClient } from './registry-client.js';
import { normalizeRetryOptions, withRetry, type RetryOptions } from './retry.js';
import { runCommand } from './run-command.js';
import { FULL_SHA_PATTERN } from './tags.js';
import { escapeControl, renderColumns } from './terminal-text.js';

/**
 * A value read from its source, or why it could not be: `unreachable: …` when the source (git,
 * ops repo, registry) did not answer, another reason when it answered without the value. Never a guess.
 */
export type Fact<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Fact<T> => ({ ok: true, value });
const no = <T>(reason: string): Fact<T> => ({ ok: false, reason });
const unreachable = <T>(error: unknown): Fact<T> => no(`unreachable: ${oneLine(error)}`);

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  // git's own diagnosis is its last `fatal:` line; the rest is the command echo.
  const fatal = lines.filter((l) => /^(fatal|error):/.test(l)).pop();
  return redact(fatal && lines[0] ? `${lines[0].replace(/:$/, '')}: ${fatal}` : lines.join(' '));
}

export interface StatusRow {
  service: string;
  project: string;
  target: DeployTarget;
  opsRepo: string;
  /** The overlay's tag for the service image, and the file it was read from. */
  deployed: Fact<{ tag: string; file: string; digest?: string }>;
  /** The deployed commit in the source repo. */
  commit: Fact<{ sha: string; subject: string; committedAt: string; ageSeconds: number }>;
  /** Commits of the default branch not in the deployed commit. */
  behind: Fact<number>;
  branch: Fact<{ name: string; head: string }>;
  /** The deployed commit's image in the registry. */
  image: Fact<{ exists: boolean; digest?: string }>;
  /** When the branch HEAD differs: the newest commit of the branch (first parents) that has an image. */
  newest: Fact<{ sha: string; digest: string } | 'deployed' | 'none'>;
}

export interface ReadStatusOptions {
  services: readonly ServiceConfig[];
  /** The workspace (source) repository. */
  root: string;
  /** The default branch, e.g. `main`; `origin/<name>` is preferred to the local branch. */
  defaultBranch: string;
  registry: RegistryClient;
  now: Date;
  /** Overall deadline of one git operation against the ops repo (clone), in ms. */
  gitDeadlineMs: number;
  /** Git over the network: the ops clone's retries on transient failures. */
  retry?: Partial<RetryOptions>;
  env?: NodeJS.ProcessEnv;
  tmpRoot?: string;
  /** First-parent commits searched for the newest image. Default 200. */
  searchDepth?: number;
  /** How overlays are rendered (what runs is what kustomize renders). Default: found once, kubectl kustomize else kustomize build. */
  renderer?: KustomizeRenderer;
}

const TRANSIENT_GIT = /Connection reset|Connection timed out|early EOF|The requested URL returned error: 5\d\d|RPC failed|Could not resolve host|unexpected disconnect/i;

/**
 * One status row per service and deploy target, each value read from its own source under a
 * deadline: the ops repo (one shallow clone per repo), the source repo (local git) and the registry.
 */
export async function readDeployStatus(options: ReadStatusOptions): Promise<StatusRow[]> {
  const env = { ...(options.env ?? process.env), GIT_TERMINAL_PROMPT: '0' };
  const tmp = await mkdtemp(join(options.tmpRoot ?? tmpdir(), 'engex-status-'));
  const clones = new Map<string, Promise<Fact<string>>>();
  const tagsCache = new Map<string, Promise<Fact<Set<string>>>>();
  const git = (args: string[]) => runCommand('git', args, { cwd: options.root, env, allowFailure: true });
  const render = overlayRenderer(options, env);
  try {
    const branch = await readBranchHead(git, options.defaultBranch);
    const rows: StatusRow[] = [];
    for (const service of options.services) {
      let clone = clones.get(service.opsRepo);
      if (!clone) {
        clone = cloneOps(service.opsRepo, join(tmp, String(clones.size)), options, env);
        clones.set(service.opsRepo, clone);
      }
      const dir = await clone;
      let tags = tagsCache.get(service.repository);
      if (!tags) {
        tags = options.registry.listTags(service.repository).then(
          (t) => ok(new Set(t ?? [])),
          (e: unknown) => unreachable<Set<string>>(e),
        );
        tagsCache.set(service.repository, tags);
      }
      for (const target of service.deployTargets) {
        const deployed = dir.ok
          ? await readOverlay(dir.value, target.overlay, service.deployImageName, render)
          : no<{ tag: string; file: string }>(`ops repo ${redact(service.opsRepo)} ${dir.reason}`);
        const sha = deployed.ok && FULL_SHA_PATTERN.test(deployed.value.tag) ? deployed.value.tag : undefined;
        const notSha = (): string => (deployed.ok ? `tag ${deployed.value.tag} is not a commit sha` : 'no deployed commit to look up (the ops repo value is missing)');
        const commit: StatusRow['commit'] = sha ? await readCommit(git, sha, options.now) : no(notSha());
        let behind: Fact<number>;
        if (!sha) behind = no(notSha());
        else if (!commit.ok) behind = no(commit.reason);
        else if (!branch.ok) behind = no(branch.reason);
        else behind = await countBehind(git, sha, branch.value.head);
        const image = sha
          ? await options.registry.headManifest(service.repository, sha).then(
              (h) => ok(h.exists ? { exists: true, digest: h.digest } : { exists: false }),
              (e: unknown) => unreachable<{ exists: boolean }>(e),
            )
          : no<{ exists: boolean }>(notSha());
        const newest = !branch.ok
          ? no<never>(branch.reason)
          : sha === branch.value.head
            ? ok<'deployed'>('deployed')
            : await newestImage(git, options, service.repository, branch.value.head, sha, await tags);
        rows.push({ service: service.service, project: service.project, target, opsRepo: redact(service.opsRepo), deployed, commit, behind, branch, image, newest });
      }
    }
    return rows;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

type Git = (args: string[]) => ReturnType<typeof runCommand>;

export interface DeployedTagQuery {
  opsRepo: string;
  overlay: string;
  /** `images[].name` to look up (the service's deployImageName). */
  image: string;
}

export type ReadDeployedOptions = Pick<ReadStatusOptions, 'gitDeadlineMs' | 'retry' | 'env' | 'tmpRoot' | 'renderer'>;

/**
 * The tag each overlay runs now, read the way `engex-ci status` reads it (one shallow clone per
 * ops repo under the git deadline, kustomize's three file names, the overlay's render), in query order.
 * Never throws for an unreachable repo or a missing entry: each answer is a Fact with its reason.
 */
export async function readDeployedTags(queries: readonly DeployedTagQuery[], options: ReadDeployedOptions): Promise<Fact<{ tag: string; file: string; digest?: string }>[]> {
  const env = { ...(options.env ?? process.env), GIT_TERMINAL_PROMPT: '0' };
  const tmp = await mkdtemp(join(options.tmpRoot ?? tmpdir(), 'engex-deployed-'));
  const clones = new Map<string, Promise<Fact<string>>>();
  const render = overlayRenderer(options, env);
  try {
    const out: Fact<{ tag: string; file: string; digest?: string }>[] = [];
    for (const q of queries) {
      let clone = clones.get(q.opsRepo);
      if (!clone) {
        clone = cloneOps(q.opsRepo, join(tmp, String(clones.size)), options, env);
        clones.set(q.opsRepo, clone);
      }
      const dir = await clone;
      out.push(dir.ok ? await readOverlay(dir.value, q.overlay, q.image, render) : no(`ops repo ${redact(q.opsRepo)} ${dir.reason}`));
    }
    return out;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function cloneOps(repo: string, dir: string, options: Pick<ReadStatusOptions, 'gitDeadlineMs' | 'retry'>, env: NodeJS.ProcessEnv): Promise<Fact<string>> {
  const started = Date.now();
  const host = gitRemoteHost(repo);
  const retry = normalizeRetryOptions({ attempts: 2, ...options.retry });
  try {
    await withRetry(
      async () => {
        await rm(dir, { recursive: true, force: true });
        const remaining = Math.max(1, options.gitDeadlineMs - (Date.now() - started));
        await runCommand('git', [...gitLowSpeedArgs(remaining), 'clone', '--quiet', '--depth', '1', '--no-tags', '--single-branch', '--', repo, dir], {
          env,
          deadline: {
            ms: remaining,
            error: () => new DeadlineExceededError('git clone of the ops repo', host, Date.now() - started, options.gitDeadlineMs, deadlineHint('gitMs')),
          },
        });
      },
      { ...retry, totalMs: Math.min(retry.totalMs, options.gitDeadlineMs), isRetryable: (e) => e instanceof CommandFailedError && TRANSIENT_GIT.test(e.output) },
    );
    return ok(dir);
  } catch (error) {
    return unreachable(error);
  }
}

type OverlayRenderer = (dir: string, overlay: string) => Promise<Fact<string>>;

/** Renders overlays with one renderer, found once; without kubectl or kustomize every overlay says why. */
function overlayRenderer(options: Pick<ReadStatusOptions, 'renderer' | 'gitDeadlineMs'>, env: NodeJS.ProcessEnv): OverlayRenderer {
  let found: Promise<Fact<KustomizeRenderer>> | undefined;
  return async (dir, overlay) => {
    found ??= options.renderer ? Promise.resolve(ok(options.renderer)) : findKustomizeRenderer(env).then(ok, (e: unknown) => no<KustomizeRenderer>((e as Error).message));
    const renderer = await found;
    if (!renderer.ok) return renderer;
    try {
      return ok(await renderKustomization(renderer.value, join(dir, overlay), { env, deadlineMs: options.gitDeadlineMs, label: overlay }));
    } catch (error) {
      if (error instanceof ManifestError) return no(error.message);
      throw error;
    }
  };
}

/**
 * What the overlay deploys, from its render (not from the `images[]` entry, which kustomize may
 * not apply): the reference every container of the service renders, when they agree on one.
 */
async function readOverlay(dir: string, overlay: string, image: string, render: OverlayRenderer): Promise<Fact<{ tag: string; file: string; digest?: string }>> {
  try {
    const listing = existsSync(join(dir, overlay)) ? await readdir(join(dir, overlay)) : [];
    const file = posix.join(overlay, pickKustomizationFile(overlay, listing));
    await insideClone(dir, file);
    const rendered = await render(dir, overlay);
    if (!rendered.ok) return rendered;
    const refs = [
      ...new Set(
        readContainerImages(rendered.value)
          .filter((c) => isServiceImage(c.image, [image]))
          .map((c) => c.image),
      ),
    ];
    if (refs.length === 0) return no(`${file} renders no container of ${image}`);
    if (refs.length > 1) return no(`${file} renders the service's containers with different images: ${refs.join(', ')}`);
    const { name, tag, digest } = splitImage(refs[0]!);
    if (name !== image) return no(`${file} renders ${refs[0]}, not the service's image ${image}`);
    if (!tag) return no(`${file} renders ${refs[0]} without a tag`);
    return ok({ tag, file, ...(digest ? { digest } : {}) });
  } catch (error) {
    if (error instanceof ManifestError) return no(error.message);
    throw error;
  }
}

async function readBranchHead(git: Git, name: string): Promise<Fact<{ name: string; head: string }>> {
  for (const ref of [`refs/remotes/origin/${name}`, `refs/heads/${name}`]) {
    const res = await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    if (res.exitCode === 0) return ok({ name: ref.replace(/^refs\/(remotes|heads)\//, ''), head: res.stdout.trim() });
  }
  return no(`branch ${name} is not in the source repo (neither origin/${name} nor ${name})`);
}

async function readCommit(git: Git, sha: string, now: Date): Promise<StatusRow['commit']> {
  const res = await git(['log', '-1', '--format=%ct%x00%s', `${sha}^{commit}`, '--']);
  if (res.exitCode !== 0) return no(`commit ${sha.slice(0, 12)} is unknown to the source repo (not fetched here, or force-pushed away)`);
  const [seconds, subject] = res.stdout.replace(/\n$/, '').split('\0');
  const committed = new Date(Number(seconds) * 1000);
  return ok({ sha, subject: subject ?? '', committedAt: committed.toISOString(), ageSeconds: Math.max(0, Math.round((now.getTime() - committed.getTime()) / 1000)) });
}

async function countBehind(git: Git, sha: string, head: string): Promise<Fact<number>> {
  const res = await git(['rev-list', '--count', `${sha}..${head}`]);
  return res.exitCode === 0 ? ok(Number(res.stdout.trim())) : no(`git rev-list failed: ${res.stderr.trim()}`);
}

async function newestImage(
  git: Git,
  options: ReadStatusOptions,
  repository: string,
  head: string,
  deployed: string | undefined,
  tags: Fact<Set<string>>,
): Promise<StatusRow['newest']> {
  if (!tags.ok) return no(tags.reason);
  const res = await git(['rev-list', '--first-parent', `--max-count=${options.searchDepth ?? 200}`, head]);
  if (res.exitCode !== 0) return no(`git rev-list failed: ${res.stderr.trim()}`);
  for (const sha of res.stdout.split('\n').filter(Boolean)) {
    if (sha === deployed) return ok('deployed');
    if (!tags.value.has(sha)) continue;
    try {
      const headed = await options.registry.headManifest(repository, sha);
      return headed.exists ? ok({ sha, digest: headed.digest }) : no(`tag ${sha.slice(0, 12)} is listed but its manifest is gone`);
    } catch (error) {
      return unreachable(error);
    }
  }
  return ok('none');
}

/** Pure: `42 s`, `5 min`, `3 h`, `12 d`. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

const short = (sha: string): string => sha.slice(0, 12);
const shortDigest = (digest: string): string => digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]*$/, '$1');

/**
 * Pure: the table. A value that could not be read shows as `[n]`, and note n under the table says
 * why, in full (`unreachable: …`), so the columns stay readable and nothing is guessed.
 */
export function renderStatusTable(rows: readonly StatusRow[]): string {
  const notes: string[] = [];
  const cell = <T>(fact: Fact<T>, show: (value: T) => string): string => {
    if (fact.ok) return show(fact.value);
    let index = notes.indexOf(fact.reason);
    if (index === -1) index = notes.push(fact.reason) - 1;
    return `[${index + 1}]`;
  };
  const header = ['SERVICE', 'TARGET', 'DEPLOYED', 'AGE', 'BEHIND', 'IMAGE', 'NEWEST IMAGE', 'SUBJECT'];
  const body = rows.map((r) => [
    r.service,
    `${r.target.overlay} (${r.target.branch})`,
    cell(r.deployed, (d) => (FULL_SHA_PATTERN.test(d.tag) ? short(d.tag) : d.tag)),
    cell(r.commit, (c) => formatAge(c.ageSeconds)),
    cell(r.behind, (n) => (r.branch.ok ? `${n} (${r.branch.value.name})` : String(n))),
    cell(r.image, (i) => (i.exists ? shortDigest(i.digest!) : 'absent')),
    cell(r.newest, (n) => (n === 'deployed' ? '= deployed' : n === 'none' ? 'none' : `${short(n.sha)} ${shortDigest(n.digest)}`)),
    cell(r.commit, (c) => c.subject),
  ]);
  const lines = renderColumns(header, body);
  if (notes.length > 0) lines.push('', ...notes.map((n, i) => `[${i + 1}] ${escapeControl(n)}`));
  return `${lines.join('\n')}\n`;
}
