import { formatDuration } from './render-summary.js';

/**
 * What a fresh-agents run measures, and its totals. Pure: walls, install times and step logs
 * arrive as data.
 */

/** How a step got its node_modules. */
export type InstallKind = 'npm ci' | 'restored' | 'none';

export interface AgentStepMetrics {
  key: string;
  label: string;
  status: string;
  /** The whole job: clone, restore, commands, save. */
  wallMs: number;
  /** The fresh clone of the commit. */
  checkoutMs: number;
  install: InstallKind;
  /** Seconds spent getting node_modules: the cache restore, plus `npm ci` when it ran. */
  installMs: number;
  /** Saving node_modules to the dependency cache (a miss that installed). */
  saveMs: number;
  /** Nx tasks whose command ran in this job. */
  nxExecuted: string[];
  /** Nx tasks whose outputs came from a cache (`[local cache]`, `[remote cache]`, `[existing outputs match the cache, left as is]`). */
  nxCached: string[];
}

/**
 * A job canceled before it started (`cancel_on_build_failing`, the build failing): no wall here.
 * On a fleet it may have run from when its dependencies ended until the first red; bench:agents
 * charges that from the measured walls.
 */
export interface CanceledJob {
  key: string;
  label: string;
  dependsOn: readonly string[];
}

export interface AgentTotals {
  /** Sum of every job's wall: what a fleet of agents is busy for. */
  agentMs: number;
  /** The longest chain through depends_on, with the measured walls: the build's time with free agents. */
  criticalPathMs: number;
  criticalPath: string[];
  /** Jobs that ran a full `npm ci`. */
  installs: number;
  /** Jobs whose node_modules came from the dependency cache. */
  restores: number;
  nxExecuted: number;
  nxCached: number;
  /** Nx tasks that executed in more than one job of the build (each should run once, then be a cache hit). */
  executedTwice: string[];
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
/** `> nx run <task>[ <args passed after -->][  [<how it was read from a cache>]]` */
const TASK_LINE = /^\s*> nx run (\S+)(.*?)(?:\s+\[([^\]]*cache[^\]]*)\])?\s*$/;

/** Nx tasks of a step's output (`--outputStyle=static`): executed, or read from a cache. */
export function parseNxTasks(output: string): { executed: string[]; cached: string[] } {
  const executed: string[] = [];
  const cached: string[] = [];
  for (const raw of output.split('\n')) {
    const m = TASK_LINE.exec(raw.replace(ANSI, ''));
    if (!m) continue;
    const task = m[1] as string;
    const list = m[3] === undefined ? executed : cached;
    if (!list.includes(task)) list.push(task);
  }
  return { executed, cached };
}

/** The longest chain of `dependsOn` by measured wall; steps come in dependency order. */
export function criticalPath(steps: readonly { key: string; dependsOn: readonly string[]; wallMs: number }[]): { ms: number; path: string[] } {
  const finish = new Map<string, { ms: number; path: string[] }>();
  let best = { ms: 0, path: [] as string[] };
  for (const step of steps) {
    const before = step.dependsOn.map((d) => finish.get(d)).reduce<{ ms: number; path: string[] }>((a, b) => (b && b.ms > a.ms ? b : a), { ms: 0, path: [] });
    const here = { ms: before.ms + step.wallMs, path: [...before.path, step.key] };
    finish.set(step.key, here);
    if (here.ms > best.ms) best = here;
  }
  return best;
}

export function agentTotals(steps: readonly (AgentStepMetrics & { dependsOn: readonly string[] })[]): AgentTotals {
  const path = criticalPath(steps);
  const seen = new Map<string, number>();
  for (const s of steps) for (const t of s.nxExecuted) seen.set(t, (seen.get(t) ?? 0) + 1);
  return {
    agentMs: steps.reduce((n, s) => n + s.wallMs, 0),
    criticalPathMs: path.ms,
    criticalPath: path.path,
    installs: steps.filter((s) => s.install === 'npm ci').length,
    restores: steps.filter((s) => s.install === 'restored').length,
    nxExecuted: steps.reduce((n, s) => n + s.nxExecuted.length, 0),
    nxCached: steps.reduce((n, s) => n + s.nxCached.length, 0),
    executedTwice: [...seen].filter(([, n]) => n > 1).map(([t]) => t),
  };
}

export interface AgentReportInput {
  steps: readonly AgentStepMetrics[];
  totals: AgentTotals;
  canceled: readonly CanceledJob[];
  /** `cold`: every job had an empty npm download cache; `warm`: the machine's. */
  npmCache: 'cold' | 'warm';
  /** Where the dependency cache and the Nx cache live (or `off`). */
  depsCache: string;
  nxCache: string;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

export function renderAgentReport(input: AgentReportInput): string {
  const header = ['STEP', 'WALL', 'INSTALL', 'NX RAN', 'NX CACHED'];
  const rows = input.steps.map((s) => [
    s.key,
    `${seconds(s.wallMs)}s`,
    s.install === 'none' ? '-' : `${s.install} ${seconds(s.installMs)}s`,
    s.nxExecuted.join(' ') || '-',
    s.nxCached.join(' ') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const t = input.totals;
  return [
    '',
    `Fresh agents (npm download cache ${input.npmCache}; dependency cache ${input.depsCache}; Nx cache ${input.nxCache}):`,
    `  ${line(header)}`,
    ...rows.map((r) => `  ${line(r)}`),
    `  agent time ${formatDuration(t.agentMs)} (sum of job walls); critical path ${formatDuration(t.criticalPathMs)} (longest depends_on chain of measured walls: ${t.criticalPath.join(' -> ') || '-'})`,
    `  installs: ${t.installs} npm ci, ${t.restores} restored from the dependency cache; Nx tasks: ${t.nxExecuted} ran, ${t.nxCached} from cache`,
    ...(t.executedTwice.length > 0 ? [`  Nx tasks that ran in more than one job: ${t.executedTwice.join(', ')}`] : []),
    ...(input.canceled.length > 0 ? [`  canceled, never started here (cancel_on_build_failing): ${input.canceled.map((c) => c.key).join(', ')}`] : []),
    '',
  ].join('\n');
}
