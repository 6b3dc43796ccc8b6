import { join } from 'node:path';
import { runInterruptCleanups } from '@engex/ci-lib';
import { commandSteps, type Pipeline } from '../core/pipeline.js';
import { openFreshCloneAgents, type AgentFlags, type AgentPool } from './agents.js';
import { ensureOpsRepo } from './ops-repo.js';
import { trivyImageOf } from './plan-local-run.js';
import { imagePresent } from './preflight.js';
import { startRunRegistry } from './run-registry.js';
import { StepSupervisor } from './supervisor.js';

/**
 * Everything a local run stands up around its jobs, made in one place and taken down in one
 * place: the registry standing in for ECR, the bare ops repos standing in for the deploy targets'
 * repos, the scanner images the engine has, the agents and their caches, and the interrupt
 * handling (Ctrl-C stops the running job; a second one kills it and removes what is left at once).
 */

type Env = Readonly<Record<string, string | undefined>>;

export interface LocalInfra {
  /** `host:port` of the run's registry. */
  registry: string;
  /** Ops repo URL → the local bare repo standing in for it. */
  opsRepos: Record<string, string>;
  /** Scanner (Trivy) images the local engine has: scans with another image are skipped. */
  presentImages: ReadonlySet<string>;
  agents: AgentPool;
  supervisor: StepSupervisor;
  /** The signal that interrupted the run, if one did. */
  signalled(): NodeJS.Signals | undefined;
  /** Stops the registry, removes the agents, restores the signal handlers. */
  close(): Promise<void>;
}

export interface LocalInfraOptions {
  env: Env;
  cwd: string;
  /** The state folder (registry storage, ops repos). */
  state: string;
  /** The workspace and commit the agents clone. */
  repo: string;
  commit: string;
  agentFlags: AgentFlags;
  pipeline: Pipeline;
  say: (line: string) => void;
}

export async function openLocalInfra(o: LocalInfraOptions): Promise<LocalInfra> {
  const cleanups: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  const agents = await openFreshCloneAgents({ flags: o.agentFlags, cwd: o.cwd, repo: o.repo, commit: o.commit, env: { PATH: o.env['PATH'] ?? '', HOME: o.env['HOME'] ?? '' } });
  cleanups.push(() => agents.close());
  const supervisor = new StepSupervisor();
  const interrupts = catchInterrupts(supervisor, agents, o.say);
  cleanups.push(async () => interrupts.restore());
  try {
    const registry = await startRunRegistry(o.env, o.state, o.say, cleanups);
    const { opsRepos, presentImages } = await standIns(o);
    return { registry, opsRepos, presentImages, agents, supervisor, signalled: interrupts.signalled, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The ops repos the deploy steps push to, and the scanner images the engine has. */
async function standIns(o: LocalInfraOptions): Promise<{ opsRepos: Record<string, string>; presentImages: Set<string> }> {
  const opsRepos: Record<string, string> = {};
  const presentImages = new Set<string>();
  for (const step of commandSteps(o.pipeline)) {
    const trivy = trivyImageOf(step);
    if (trivy !== undefined && !presentImages.has(trivy) && (await imagePresent(trivy, o.env))) presentImages.add(trivy);
    if (step.meta.kind !== 'deploy') continue;
    const path = join(o.state, 'ops', `${step.meta.service}-ops.git`);
    const ops = await ensureOpsRepo(path, step.meta.service, step.meta.imageName, o.env);
    if (ops.created) o.say(`Ops repo ${path} created (stands in for ${step.meta.repo})`);
    opsRepos[step.meta.repo] = path;
  }
  return { opsRepos, presentImages };
}

function catchInterrupts(supervisor: StepSupervisor, agents: AgentPool, say: (line: string) => void): { signalled: () => NodeJS.Signals | undefined; restore: () => void } {
  let signalled: NodeJS.Signals | undefined;
  const restore = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    if (signalled) {
      // Second signal: stop waiting. Kill what we started, then die of the signal as usual. Only
      // synchronous cleanup runs before the process dies: the registry's (ci-lib registers a
      // SIGKILL and the removal of its folder) and the agents' temp clones.
      supervisor.kill('SIGKILL');
      runInterruptCleanups();
      agents.closeNow();
      restore();
      process.kill(process.pid, signal);
      return;
    }
    signalled = signal;
    say(`\n${signal}: stopping the running step and cleaning up (again to force)`);
    supervisor.interrupt();
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signalled: () => signalled, restore };
}
