import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentStore } from './agent-store.js';
import { cloneAgent, runJob, type JobOutcome } from './agent-job.js';
import { parseNxTasks, type AgentStepMetrics } from './agent-metrics.js';
import { jobEnv, type LocalBuild, type QueueAgents } from './local-env.js';
import type { LocalStep } from './plan-local-run.js';
import { renderStepEnd, renderStepStart, formatDuration, type StepResult } from './render-summary.js';
import { tail } from './report-agents.js';
import type { RunLocalOptions } from './run-local.js';
import type { StepSupervisor } from './supervisor.js';

/** A run's agents, normalized: every folder exists. */
export interface Agents {
  /** Temporary folder of this run's clones (and default caches); removed at the end. */
  root: string;
  depsCache: string;
  nxCache: { kind: 'directory'; dir: string } | { kind: 'off' };
  npmCache: 'cold' | 'warm';
  metricsJson?: string;
}

export type RunResult = StepResult & { agent?: AgentStepMetrics };

export interface RunStepsContext extends RunLocalOptions {
  agents: Agents;
  queues: Readonly<Record<string, QueueAgents>>;
  store: AgentStore;
  supervisor: StepSupervisor;
  runDir: string;
  docker: string;
  say: (line: string) => void;
  clock: () => number;
  signalled: () => NodeJS.Signals | undefined;
}

/** Runs the steps in order, one at a time, each command step as a job on a fresh agent of its queue. */
export async function runSteps(steps: readonly LocalStep[], build: LocalBuild, ctx: RunStepsContext): Promise<RunResult[]> {
  const results: RunResult[] = [];
  const byKey = new Map<string, StepResult>();
  const push = (r: RunResult, announce = true): void => {
    results.push(r);
    byKey.set(r.key, r);
    if (announce) ctx.say(renderStepEnd(r));
  };
  for (const [i, step] of steps.entries()) {
    const base = { key: step.key, label: step.label };
    if (ctx.signalled()) {
      push({ ...base, status: 'blocked', durationMs: 0, note: 'run interrupted' }, false);
      continue;
    }
    const failedDep = step.dependsOn.map((d) => byKey.get(d)).find((r) => r && r.status !== 'passed' && r.status !== 'skipped');
    if (failedDep) {
      const why = failedDep.status === 'blocked' ? 'not run' : failedDep.status === 'waiting' ? 'waiting for approval' : failedDep.status;
      push({ ...base, status: 'blocked', durationMs: 0, note: `needs ${failedDep.key} (${why})` });
      continue;
    }
    ctx.say(renderStepStart(i + 1, steps.length, step.label, step.key));
    for (const n of step.notes) ctx.say(`    ${n}`);
    if (step.block !== undefined) {
      for (const l of step.block.split('\n')) ctx.say(`    ${l}`);
      push(
        ctx.flags.approve
          ? { ...base, status: 'passed', durationMs: 0, note: 'approved (--approve)' }
          : { ...base, status: 'waiting', durationMs: 0, note: 'waiting for approval: rerun with --approve to unblock' },
      );
      continue;
    }
    if (step.skip !== undefined) {
      push({ ...base, status: 'skipped', durationMs: 0, note: step.skip });
      continue;
    }
    // The shell lines the job runs, first line of each (the step log has them whole).
    for (const c of step.commands) {
      const lines = c.split('\n');
      ctx.say(`    $ ${lines[0]}${lines.length > 1 ? ` … (${lines.length - 1} more lines)` : ''}`);
    }
    let result = await runOne(step, i, build, ctx);
    // Buildkite's automatic retries (agent lost, engex-ci's infrastructure exit 4): a new job on a fresh agent.
    const attempts = new Map<number | '*', number>();
    for (;;) {
      const code = result.exitCode;
      const rule = result.status === 'failed' && code !== undefined ? step.retry.find((r) => r.exitStatus === code || r.exitStatus === '*') : undefined;
      if (rule === undefined || (attempts.get(rule.exitStatus) ?? 0) >= rule.limit || ctx.signalled()) break;
      attempts.set(rule.exitStatus, (attempts.get(rule.exitStatus) ?? 0) + 1);
      ctx.say(`    exit ${code}: automatic retry ${attempts.get(rule.exitStatus)}/${rule.limit} (retry.automatic exit_status ${rule.exitStatus})`);
      result = await runOne(step, i, build, ctx);
    }
    push(result);
    if (result.status === 'failed' && !ctx.flags.verbose && result.log) ctx.say(await tail(result.log, 25));
  }
  return results;
}

async function runOne(step: LocalStep, i: number, build: LocalBuild, ctx: RunStepsContext): Promise<RunResult> {
  const safeKey = step.key.replace(/[^A-Za-z0-9._-]/g, '_');
  const logFile = join(ctx.runDir, 'logs', `${safeKey}.log`);
  const agentDir = join(ctx.agents.root, 'agents', `${String(i + 1).padStart(3, '0')}-${safeKey}`);
  const checkout = join(agentDir, 'checkout');
  const t0 = ctx.clock();
  const ticker = startTicker(ctx, step, t0);
  let checkoutMs = 0;
  const outcome = await (async (): Promise<JobOutcome> => {
    const agents = ctx.queues[step.queue];
    const none = { kind: 'none' as const, ms: 0, saveMs: 0 };
    if (agents === undefined) {
      // On Buildkite the job would wait forever for an agent; here it fails and says so.
      return { status: 'failed', exitCode: 1, note: `no agent serves queue ${JSON.stringify(step.queue)} (local queues: ${Object.keys(ctx.queues).join(', ')})`, install: none };
    }
    try {
      await cloneAgent(build.workspaceRoot, build.commit, checkout, { PATH: ctx.env['PATH'] ?? '', HOME: ctx.env['HOME'] ?? '' });
    } catch (error) {
      return { status: 'failed', exitCode: 4, note: `fresh clone of ${build.commit.slice(0, 12)} failed: ${(error as Error).message.split('\n')[0]}`, install: none };
    }
    checkoutMs = ctx.clock() - t0;
    // The shared folder stands in for the remote cache; an agent that may not write it (untrusted:
    // the read token) gets a cache of its own, so nothing it builds reaches a trusted build.
    const nxCacheDir = ctx.agents.nxCache.kind === 'directory' && agents.cacheWrite ? ctx.agents.nxCache.dir : join(agentDir, 'nx');
    const env = jobEnv({
      caller: ctx.env,
      build,
      queue: step.queue,
      agents,
      step,
      checkout,
      binDir: join(agentDir, 'bin'),
      nxCacheDir,
      ...(ctx.agents.npmCache === 'cold' ? { npmCacheDir: join(agentDir, 'npm-cache') } : {}),
    });
    return runJob({
      step,
      checkout,
      agentDir,
      env,
      hooks: agents.hooks,
      store: ctx.store,
      agentCommand: ctx.agentCommand,
      docker: ctx.docker,
      registry: build.registry,
      depsCache: ctx.agents.depsCache,
      cacheWrite: agents.cacheWrite,
      logFile,
      supervisor: ctx.supervisor,
      clock: ctx.clock,
      ...(ctx.flags.verbose ? { echo: ctx.stderr } : {}),
    });
  })().finally(() => ticker());
  const durationMs = ctx.clock() - t0;
  const nx = parseNxTasks(await readFile(logFile, 'utf8').catch(() => ''));
  const agent: AgentStepMetrics = {
    key: step.key,
    label: step.label,
    status: outcome.status,
    wallMs: durationMs,
    checkoutMs,
    install: outcome.install.kind,
    installMs: outcome.install.ms,
    saveMs: outcome.install.saveMs,
    nxExecuted: nx.executed,
    nxCached: nx.cached,
  };
  // Agents are ephemeral: nothing of this one is left for the next job but what it uploaded and saved.
  await rm(agentDir, { recursive: true, force: true });
  return {
    agent,
    key: step.key,
    label: step.label,
    status: outcome.status,
    durationMs,
    ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
    ...(outcome.note !== undefined ? { note: outcome.note } : {}),
    log: logFile,
  };
}

/** Elapsed time while a step runs: a rewritten line on a terminal, a line every 30 s otherwise. */
function startTicker(ctx: RunStepsContext, step: LocalStep, t0: number): () => void {
  if (ctx.flags.verbose) return () => undefined;
  const tty = ctx.stderr.isTTY === true;
  const timer = setInterval(
    () => {
      const elapsed = formatDuration(ctx.clock() - t0);
      if (tty) ctx.stderr.write(`\r    running ${step.label}: ${elapsed} `);
      else ctx.say(`    still running ${step.label}: ${elapsed}`);
    },
    tty ? 1000 : 30_000,
  );
  timer.unref();
  return () => {
    clearInterval(timer);
    if (tty) ctx.stderr.write('\r\x1b[K');
  };
}
