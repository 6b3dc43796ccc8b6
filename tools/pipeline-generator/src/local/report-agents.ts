import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentTotals, renderAgentReport, type AgentStepMetrics, type CanceledJob } from './agent-metrics.js';
import type { LocalStep } from './plan-local-run.js';
import { formatDuration } from './render-summary.js';
import type { RunResult } from './run-steps.js';
import type { AgentCaches } from './agents.js';

export interface AgentReportInput {
  caches: AgentCaches;
  steps: readonly LocalStep[];
  results: readonly RunResult[];
  runDir: string;
  say: (line: string) => void;
  elapsedMs: number;
  /** `--metrics-json`: also written here. */
  metricsJson: string | undefined;
}

/** The agents' table and totals, on stderr and as JSON (run folder, and `--metrics-json`). */
export async function reportAgents(r: AgentReportInput): Promise<void> {
  const byKey = new Map(r.steps.map((s) => [s.key, s]));
  const measured = r.results
    .filter((x): x is RunResult & { agent: AgentStepMetrics } => x.agent !== undefined)
    .map((x) => ({ ...x.agent, dependsOn: byKey.get(x.key)?.dependsOn ?? [] }));
  const totals = agentTotals(measured);
  const canceled = r.results.filter((x) => x.status === 'canceled').map((x): CanceledJob => ({ key: x.key, label: x.label, dependsOn: byKey.get(x.key)?.dependsOn ?? [] }));
  const { caches } = r;
  const depsCache = caches.depsCacheKept ? caches.depsCache : `${caches.depsCache} (this run's)`;
  const nxCache = caches.nxCache.kind === 'off' ? "off (each agent's own)" : caches.nxCache.dir;
  r.say(renderAgentReport({ steps: measured, totals, canceled, npmCache: caches.npmCache, depsCache, nxCache }).trimEnd());
  r.say(`  steps ran one at a time here: elapsed ${formatDuration(r.elapsedMs)}; the critical path is what a fleet with free agents would take`);
  const json = `${JSON.stringify({ npmCache: caches.npmCache, depsCache: caches.depsCache, nxCache, elapsedMs: r.elapsedMs, totals, steps: measured, canceled }, null, 2)}\n`;
  await writeFile(join(r.runDir, 'agents.json'), json);
  if (r.metricsJson !== undefined) await writeFile(r.metricsJson, json);
}

export async function tail(file: string, lines: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const last = text.trimEnd().split('\n').slice(-lines);
  return `    ┌ last ${last.length} lines of ${file}\n${last.map((l) => `    │ ${l}`).join('\n')}\n    └`;
}
