import { readDeployedTags, type DeployedTagQuery, type Fact } from '@engex/ci-lib';
import { deployTargetFor, type ServiceConfig } from '@engex/workspace-config';
import type { Git } from './git.js';
import { ancestorDeepening, ensureCommit } from './select-base.js';

/** One deploy target of one service on this branch, and the commit it runs now (or why unknown). */
export interface DeployedCommit {
  project: string;
  service: string;
  overlay: string;
  /** The deployed commit of this repository, an ancestor of the build's commit. */
  commit?: string;
  /** Why no commit could be used: then everything of the service runs. */
  unknown?: string;
}

export interface DeployedBase {
  /** The base to compare with: the oldest of the build's base and every usable deployed commit. */
  base: string;
  deployed: DeployedCommit[];
  /** Services whose deployed commit is unknown, and why: all their steps run. */
  forced: Map<string, string>;
  notes: string[];
}

export interface ReadDeployedBaseOptions {
  git: Git;
  /** Default `origin`; deployed commits missing from a shallow clone are fetched from it. */
  remote?: string;
  /** Every service of the workspace, resolved; only those with a deploy target on `branch` count. */
  services: readonly ServiceConfig[];
  branch: string;
  /** The build's commit and the base the automatic rules chose for it. */
  commit: string;
  buildBase: string;
  /** The ops repo clone's overall deadline (ci-lib's ENGEX_CI_GIT_DEADLINE). */
  gitDeadlineMs: number;
  env: Readonly<Record<string, string | undefined>>;
  /** Injected in tests; default ci-lib's readDeployedTags. */
  readTags?: (queries: readonly DeployedTagQuery[]) => Promise<Fact<{ tag: string; file: string }>[]>;
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/**
 * "What changed since what is deployed": on a branch that deploys, a service's steps must cover
 * every commit since the one its deploy target runs, not only since the last build (HEAD~1 misses
 * the first commits of a multi-commit push). The base widens to the oldest deployed commit; a
 * deployed commit that cannot be read or used makes that service run everything instead.
 */
export async function readDeployedBase(o: ReadDeployedBaseOptions): Promise<DeployedBase> {
  const remote = o.remote ?? 'origin';
  const pairs = o.services.flatMap((service) => service.deployTargets.filter((t) => deployTargetFor(o.branch, [t]) !== undefined).map((target) => ({ service, target })));
  const result: DeployedBase = { base: o.buildBase, deployed: [], forced: new Map(), notes: [] };
  if (pairs.length === 0) return result;
  const readTags = o.readTags ?? ((q) => readDeployedTags(q, { gitDeadlineMs: o.gitDeadlineMs, env: { ...o.env } }));
  const facts = await readTags(pairs.map(({ service, target }) => ({ opsRepo: service.opsRepo, overlay: target.overlay, image: service.deployImageName })));

  for (const [i, { service, target }] of pairs.entries()) {
    const fact = facts[i] ?? { ok: false, reason: 'not read' };
    const entry: DeployedCommit = { project: service.project, service: service.service, overlay: target.overlay, ...(await usable(o.git, remote, fact, o.commit, result.notes)) };
    if (entry.unknown !== undefined) {
      const why = `deployed commit of ${target.overlay} unknown (${entry.unknown}), so everything of ${service.service} runs`;
      result.forced.set(service.project, [result.forced.get(service.project), why].filter(Boolean).join('; '));
    } else if (entry.commit !== undefined) {
      const older = await o.git.mergeBase(entry.commit, result.base);
      if (older !== undefined && older !== result.base) {
        result.notes.push(`${service.service} runs ${entry.commit.slice(0, 12)} in ${target.overlay}: compared from there, not only from ${result.base.slice(0, 12)}.`);
        result.base = older;
      }
    }
    result.deployed.push(entry);
  }
  return result;
}

/** The deployed commit when `fact` names a commit of this repo that `head` contains; else why not. */
async function usable(git: Git, remote: string, fact: Fact<{ tag: string }>, head: string, notes: string[]): Promise<{ commit: string } | { unknown: string }> {
  if (!fact.ok) return { unknown: fact.reason };
  const tag = fact.value.tag;
  if (!FULL_SHA.test(tag)) return { unknown: `it runs tag ${JSON.stringify(tag)}, not a commit sha` };
  if (!(await ensureCommit(git, remote, tag, notes))) return { unknown: `${tag.slice(0, 12)} is not a commit of this repository` };
  if (!(await ancestorDeepening(git, remote, tag, head, notes))) return { unknown: `${tag.slice(0, 12)} is not an ancestor of ${head.slice(0, 12)} (force-push or rollback)` };
  return { commit: tag };
}
