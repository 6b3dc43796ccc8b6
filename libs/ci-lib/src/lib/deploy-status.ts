import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeployTarget, ServiceConfig } from '@engex/workspace-config';
import { createOverlayReader, type Deployed, type ReadDeployedOptions } from './deployed-tags.js';
import { no, ok, unreachable, type Fact } from './fact.js';
import { redact } from './redact.js';
import type { RegistryClient } from './registry-client.js';
import { runCommand } from './run-command.js';
import { FULL_SHA_PATTERN } from './tags.js';
import { escapeControl, renderColumns } from './terminal-text.js';

export interface StatusRow {
  service: string;
  project: string;
  target: DeployTarget;
  opsRepo: string;
  /** The overlay's tag for the service image, and the file it was read from. */
  deployed: Fact<Deployed>;
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

export interface ReadStatusOptions extends ReadDeployedOptions {
  services: readonly ServiceConfig[];
  /** The workspace (source) repository. */
  root: string;
  /** The default branch, e.g. `main`; `origin/<name>` is preferred to the local branch. */
  defaultBranch: string;
  registry: RegistryClient;
  now: Date;
  /** First-parent commits searched for the newest image. Default 200. */
  searchDepth?: number;
}

/**
 * One status row per service and deploy target, each value read from its own source under a
 * deadline: the ops repo (one shallow clone per repo), the source repo (local git) and the registry.
 */
export async function readDeployStatus(options: ReadStatusOptions): Promise<StatusRow[]> {
  const env = { ...(options.env ?? process.env), GIT_TERMINAL_PROMPT: '0' };
  const tmp = await mkdtemp(join(options.tmpRoot ?? tmpdir(), 'engex-status-'));
  const tagsCache = new Map<string, Promise<Fact<Set<string>>>>();
  const git = (args: string[]) => runCommand('git', args, { cwd: options.root, env, allowFailure: true });
  const readOverlay = createOverlayReader(options, env, tmp);
  try {
    const branch = await readBranchHead(git, options.defaultBranch);
    const rows: StatusRow[] = [];
    for (const service of options.services) {
      let tags = tagsCache.get(service.repository);
      if (!tags) {
        tags = options.registry.listTags(service.repository).then(
          (t) => ok(new Set(t ?? [])),
          (e: unknown) => unreachable<Set<string>>(e),
        );
        tagsCache.set(service.repository, tags);
      }
      for (const target of service.deployTargets) {
        const deployed = await readOverlay({ opsRepo: service.opsRepo, overlay: target.overlay, image: service.deployImageName });
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
