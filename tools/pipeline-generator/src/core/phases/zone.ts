import { decideTrust, type TrustDecision, type WorkspaceConfig } from '@engex/workspace-config';
import type { BuildContext, ZoneSummary } from '../context.js';
import type { AutomaticRetry, PluginUse } from '../pipeline.js';
import { dependencyCachePlugin, nodeMajorOf, type Common, type PlanOptions } from '../steps/common.js';

/** Agent loss: the job's agent vanished (-1) or was stopped/lost its connection (255). */
export const AGENT_LOST_RETRY: readonly AutomaticRetry[] = [
  { exitStatus: -1, limit: 2 },
  { exitStatus: 255, limit: 2 },
];

/** Agent loss, and `engex-ci`'s exit 4 (infrastructure: registry, AWS, git remote) on steps that talk to them. */
export const INFRA_RETRY: readonly AutomaticRetry[] = [...AGENT_LOST_RETRY, { exitStatus: 4, limit: 2 }];

/** Whether this build deploys: the branch whose deploy targets apply, or why it never deploys. */
export type Deployable = { ok: true; branch: string } | { ok: false; why: string };

/** The build's trust zone and what follows from it: each kind of step's queue and shared fields, deploys, the dependency cache. */
export interface Zone {
  trusted: boolean;
  /** The zone line of the summary and annotation. */
  summary: ZoneSummary;
  /** Check jobs, the plan step and the checks gate (agents.queue). */
  checks: Common;
  /** Image push and deploys: ECR-push and ops-write credentials, their own queue, retried on exit 4. */
  deploy: Common;
  /** Deploy verification: the deploy queue, agent-loss retries only. */
  verify: Common;
  /** The untrusted image step (dockerQueue). */
  docker: Common;
  /** Scans: the docker queue, retried on exit 4 (the registry pull). */
  scan: Common;
  deployable: Deployable;
  /** Put first on every step that installs. */
  dependencyCache: PluginUse;
}

/**
 * The trust zone decides every queue: an untrusted build (a pull request, a branch outside
 * trustedBranches) runs every step on untrustedQueue, whose agents hold no push, deploy or
 * cache-write secret. The agent guard on the trusted queues enforces the same rule there, since
 * a hostile branch can edit this generator.
 */
export function planZone(config: WorkspaceConfig, context: BuildContext, options: Pick<PlanOptions, 'dependencyCache'>): Zone {
  const trust = decideTrust(config, context);
  const trusted = trust.zone === 'trusted';
  const queue = (name: string): Common['agents'] => ({ queue: trusted ? name : config.untrustedQueue });
  const checks: Common = { agents: queue(config.agents.queue), retry: AGENT_LOST_RETRY, env: {}, artifactPaths: [], plugins: [] };
  const docker: Common = { ...checks, agents: queue(config.dockerQueue) };
  return {
    trusted,
    summary: describeZone(trust, config),
    checks,
    deploy: { ...checks, agents: queue(config.deployQueue), retry: INFRA_RETRY },
    verify: { ...checks, agents: queue(config.deployQueue) },
    docker,
    scan: { ...docker, retry: INFRA_RETRY },
    deployable: deployable(context, trust),
    dependencyCache: options.dependencyCache ?? dependencyCachePlugin({ platform: config.agents.platform, nodeMajor: nodeMajorOf(config.nodeImage), save: trusted }),
  };
}

/** The zone line of the summary and annotation: which zone, why, and what that means for this build. */
function describeZone(trust: TrustDecision, config: WorkspaceConfig): ZoneSummary {
  return trust.zone === 'trusted'
    ? {
        zone: 'trusted',
        reason: trust.reason,
        effect: `checks on ${config.agents.queue}, scans on ${config.dockerQueue}, images (build, push, smoke test) and deploys on ${config.deployQueue}; the dependency cache is saved`,
      }
    : {
        zone: 'untrusted',
        reason: trust.reason,
        effect: `every step on ${config.untrustedQueue}: images are built, smoked and scanned there and never pushed, no deploy, the dependency cache is restored but never saved`,
      };
}

function deployable(context: BuildContext, trust: TrustDecision): Deployable {
  if (context.pullRequest !== undefined) return { ok: false, why: `pull request #${context.pullRequest} builds never deploy` };
  if (context.tag !== undefined) return { ok: false, why: 'tag builds never deploy' };
  if (context.branch === undefined) return { ok: false, why: 'no branch' };
  if (trust.zone !== 'trusted') return { ok: false, why: `untrusted builds never deploy (${trust.reason})` };
  return { ok: true, branch: context.branch };
}
