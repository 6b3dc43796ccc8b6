import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentTotals, renderAgentReport, type AgentStepMetrics } from './agent-metrics.js';
import type { LocalStep } from './plan-local-run.js';
import { formatDuration } from './render-summary.js';
import type { Agents, RunResult } from './run-steps.js';

/** The agents' table and totals, on stderr and as JSON (run folder, and `--metrics-json`). */
export async function reportAgents(
  agents: Agents,
  steps: readonly LocalStep[],
  results: readonly RunResult[],
  runDir: string,
  say: (line: string) => void,
  keptDeps: boolean,
  elapsedMs: number,
): Promise<void> {
  const byKey = new Map(steps.map((s) => [s.key, s]));
  const measured = results
    .filter((r): r is RunResult & { agent: AgentStepMetrics } => r.agent !== undefined)
    .map((r) => ({ ...r.agent, dependsOn: byKey.get(r.key)?.dependsOn ?? [] }));
  const totals = agentTotals(measured);
  const depsCache = keptDeps ? agents.depsCache : `${agents.depsCache} (this run's)`;
  const nxCache = agents.nxCache.kind === 'off' ? "off (each agent's own)" : agents.nxCache.dir;
  say(renderAgentReport({ steps: measured, totals, npmCache: agents.npmCache, depsCache, nxCache }).trimEnd());
  say(`  steps ran one at a time here: elapsed ${formatDuration(elapsedMs)}; the critical path is what a fleet with free agents would take`);
  const json = `${JSON.stringify({ npmCache: agents.npmCache, depsCache: agents.depsCache, nxCache, elapsedMs, totals, steps: measured }, null, 2)}\n`;
  await writeFile(join(runDir, 'agents.json'), json);
  if (agents.metricsJson) await writeFile(agents.metricsJson, json);
}

export async function tail(file: string, lines: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const last = text.trimEnd().split('\n').slice(-lines);
  return `    ┌ last ${last.length} lines of ${file}\n${last.map((l) => `    │ ${l}`).join('\n')}\n    └`;
}
