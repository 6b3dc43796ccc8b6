import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from './agents.js';
import { AgentStore } from './agent-store.js';
import { runJob, type JobOutcome } from './agent-job.js';
import { parseNxTasks, type AgentStepMetrics } from './agent-metrics.js';
import { jobEnv, type LocalBuild, type QueueAgents } from './local-env.js';
import type { LocalCommandStep, LocalStep } from './plan-local-run.js';
import { renderStepEnd, renderStepStart, formatDuration, type StepResult, type StepStatus } from './render-summary.js';
import { tail } from './report-agents.js';
import type { TextSink } from './run-local.js';
import { decideStep, retryRule, type RetryRule } from './schedule.js';
import type { LocalInfra } from './local-infra.js';

export type RunResult = StepResult & { agent?: AgentStepMetrics };

/** What the loop needs of the run; `runLocal` builds it once. */
export interface RunStepsContext {
  /** The environment of `run --local` (a job takes only its allowlist). */
  env: Readonly<Record<string, string | undefined>>;
  build: LocalBuild;
  /** The agents (the seam every job runs through), the running job's supervisor, the interrupt. */
  infra: Pick<LocalInfra, 'agents' | 'supervisor' | 'signalled'>;
  queues: Readonly<Record<string, QueueAgents>>;
  /** argv of the local `buildkite-agent`. */
  agentCommand: readonly string[];
  docker: string;
  approve: boolean;
  /** Every step's output to `stderr` as well as its log. */
  verbose: boolean;
  stderr: TextSink;
  say: (line: string) => void;
  clock: () => number;
}

/** Runs the steps in order, one at a time, as `decideStep` says: each command step a job on a new agent of its queue. */
export async function runSteps(steps: readonly LocalStep[], ctx: RunStepsContext): Promise<RunResult[]> {
  const job = { ...ctx, store: new AgentStore(ctx.build.runDir) };
  const results: RunResult[] = [];
  const settled = new Map<string, StepStatus>();
  const settle = (r: RunResult, announce: boolean): void => {
    results.push(r);
    settled.set(r.key, r.status);
    if (announce) ctx.say(renderStepEnd(r));
  };
  for (const [i, step] of steps.entries()) {
    const decision = decideStep(step, settled, { interrupted: ctx.infra.signalled() !== undefined, approve: ctx.approve });
    const base = { key: step.key, label: step.label };
    if (decision.kind === 'settle' && decision.announce !== 'reached') {
      settle({ ...base, status: decision.status, durationMs: 0, note: decision.note }, decision.announce === 'end-only');
      continue;
    }
    ctx.say(renderStepStart(i + 1, steps.length, step.label, step.key));
    for (const n of step.notes) ctx.say(`    ${n}`);
    if (step.type === 'block') for (const l of step.prompt.split('\n')) ctx.say(`    ${l}`);
    if (decision.kind === 'settle') {
      settle({ ...base, status: decision.status, durationMs: 0, note: decision.note }, true);
      continue;
    }
    const result = await runWithRetries(decision.step, i, job);
    settle(result, true);
    if (result.status === 'failed' && !ctx.verbose && result.log) ctx.say(await tail(result.log, 25));
  }
  return results;
}

type JobContext = RunStepsContext & { store: AgentStore };

/** The job, and Buildkite's automatic retries of it (agent lost, engex-ci's infrastructure exit 4), each on a new agent. */
async function runWithRetries(step: LocalCommandStep, i: number, ctx: JobContext): Promise<RunResult> {
  // The shell lines the job runs, first line of each (the step log has them whole).
  for (const c of step.commands) {
    const lines = c.split('\n');
    ctx.say(`    $ ${lines[0]}${lines.length > 1 ? ` … (${lines.length - 1} more lines)` : ''}`);
  }
  let result = await runOne(step, i, ctx);
  const attempts = new Map<RetryRule['exitStatus'], number>();
  for (let rule = retryRule(step, result, attempts); rule !== undefined && !ctx.infra.signalled(); rule = retryRule(step, result, attempts)) {
    attempts.set(rule.exitStatus, (attempts.get(rule.exitStatus) ?? 0) + 1);
    ctx.say(`    exit ${result.exitCode}: automatic retry ${attempts.get(rule.exitStatus)}/${rule.limit} (retry.automatic exit_status ${rule.exitStatus})`);
    result = await runOne(step, i, ctx);
  }
  return result;
}

async function runOne(step: LocalCommandStep, i: number, ctx: JobContext): Promise<RunResult> {
  const logFile = join(ctx.build.runDir, 'logs', `${step.key.replace(/[^A-Za-z0-9._-]/g, '_')}.log`);
  const t0 = ctx.clock();
  const ticker = startTicker(ctx, step, t0);
  let checkoutMs = 0;
  const none = { kind: 'none' as const, ms: 0, saveMs: 0 };
  const outcome = await (async (): Promise<JobOutcome> => {
    const queue = ctx.queues[step.queue];
    if (queue === undefined) {
      // On Buildkite the job would wait forever for an agent; here it fails and says so.
      return { status: 'failed', exitCode: 1, note: `no agent serves queue ${JSON.stringify(step.queue)} (local queues: ${Object.keys(ctx.queues).join(', ')})`, install: none };
    }
    let agent: Agent;
    try {
      agent = await ctx.infra.agents.start({ index: i, key: step.key, queue });
    } catch (error) {
      return { status: 'failed', exitCode: 4, note: `fresh clone of ${ctx.build.commit.slice(0, 12)} failed: ${(error as Error).message.split('\n')[0]}`, install: none };
    }
    checkoutMs = ctx.clock() - t0;
    try {
      return await runJob({
        step,
        checkout: agent.checkout,
        agentDir: agent.dir,
        env: jobEnv({ caller: ctx.env, build: ctx.build, queue: step.queue, agents: queue, step, ...agent }),
        hooks: queue.hooks,
        store: ctx.store,
        agentCommand: ctx.agentCommand,
        docker: ctx.docker,
        registry: ctx.build.registry,
        depsCache: ctx.infra.agents.caches.depsCache,
        cacheWrite: queue.cacheWrite,
        logFile,
        supervisor: ctx.infra.supervisor,
        clock: ctx.clock,
        echo: ctx.verbose ? ctx.stderr : undefined,
      });
    } finally {
      await ctx.infra.agents.release(agent);
    }
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
  return { agent, key: step.key, label: step.label, status: outcome.status, durationMs, exitCode: outcome.exitCode, note: outcome.note, log: logFile };
}

/** Elapsed time while a step runs: a rewritten line on a terminal, a line every 30 s otherwise. */
function startTicker(ctx: RunStepsContext, step: LocalCommandStep, t0: number): () => void {
  if (ctx.verbose) return () => undefined;
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
