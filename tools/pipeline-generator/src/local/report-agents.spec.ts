import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/temp-dir.js';
import type { AgentStepMetrics } from './agent-metrics.js';
import type { LocalStep } from './plan-local-run.js';
import { reportAgents } from './report-agents.js';
import type { RunResult } from './run-steps.js';

describe('reportAgents: the metrics JSON bench:agents reads', () => {
  const agent = (key: string, status: string, wallMs: number): AgentStepMetrics => ({
    key,
    label: key,
    status,
    wallMs,
    checkoutMs: 0,
    install: 'none',
    installMs: 0,
    saveMs: 0,
    nxExecuted: [],
    nxCached: [],
  });
  const step = (key: string, dependsOn: string[]): LocalStep => ({ type: 'block', key, label: key, dependsOn, notes: [], prompt: '' });

  it('lists each canceled job with its dependencies beside the measured ones (it has no wall to measure)', async () => {
    const dir = await tempDir('engex-report-agents-');
    const results: RunResult[] = [
      { key: 'checks', label: 'checks', status: 'failed', durationMs: 45_000, exitCode: 1, agent: agent('checks', 'failed', 45_000) },
      { key: 'build', label: 'build', status: 'passed', durationMs: 30_000, agent: agent('build', 'passed', 30_000) },
      { key: 'image', label: 'image', status: 'canceled', durationMs: 0, note: 'canceled: checks failed (cancel_on_build_failing)' },
    ];
    const lines: string[] = [];
    await reportAgents({
      caches: { depsCache: join(dir, 'deps'), depsCacheKept: true, nxCache: { kind: 'off' }, npmCache: 'warm' },
      steps: [step('checks', []), step('build', []), step('image', ['build'])],
      results,
      runDir: dir,
      say: (l) => void lines.push(l),
      elapsedMs: 75_000,
      metricsJson: undefined,
    });
    const json = JSON.parse(await readFile(join(dir, 'agents.json'), 'utf8')) as { steps: { key: string }[]; totals: { agentMs: number }; canceled: unknown };
    expect(json.steps.map((s) => s.key)).toEqual(['checks', 'build']);
    expect(json.totals.agentMs).toBe(75_000);
    expect(json.canceled).toEqual([{ key: 'image', label: 'image', dependsOn: ['build'] }]);
    expect(lines.join('\n')).toContain('canceled, never started here (cancel_on_build_failing): image');
  });
});
