import { describe, expect, it } from 'vitest';
import { agentTotals, criticalPath, parseNxTasks, renderAgentReport, type AgentStepMetrics } from './agent-metrics.js';

// Real Nx 23.2.1 output (`--outputStyle=static`), a miss then hits, with a colour code as a TTY-less CI keeps some.
const NX_OUTPUT = `
> nx run @engex/workspace-config:build

> nx run @engex/ci-lib:build  [local cache]

\u001b[1m> nx run @engex/halow:build  [remote cache]\u001b[22m
> nx run @engex/halow:test  [existing outputs match the cache, left as is]
> nx run @engex/service-kit:test --reporter=default --outputFile.junit=../../reports/junit/x.xml
> nx run @engex/ci-lib:test --reporter=junit  [remote cache]
 NX   Successfully ran target build for project @engex/ci-lib
Nx read the output from the cache instead of running the command for 4 out of 6 tasks.
[local] $ npx nx run @engex/halow:build --outputStyle=static
`;

const metrics = (key: string, over: Partial<AgentStepMetrics & { dependsOn: string[] }> = {}): AgentStepMetrics & { dependsOn: string[] } => ({
  key,
  label: key,
  status: 'passed',
  wallMs: 1000,
  checkoutMs: 100,
  install: 'restored',
  installMs: 200,
  saveMs: 0,
  nxExecuted: [],
  nxCached: [],
  dependsOn: [],
  ...over,
});

describe('agent metrics', () => {
  it('tells executed Nx tasks from cache hits', () => {
    expect(parseNxTasks(NX_OUTPUT)).toEqual({
      executed: ['@engex/workspace-config:build', '@engex/service-kit:test'],
      cached: ['@engex/ci-lib:build', '@engex/halow:build', '@engex/halow:test', '@engex/ci-lib:test'],
    });
  });

  it('takes the longest depends_on chain by measured wall, not the run order', () => {
    const steps = [
      { key: 'plan', dependsOn: [], wallMs: 1000 },
      { key: 'build', dependsOn: [], wallMs: 5000 },
      { key: 'test', dependsOn: [], wallMs: 7000 },
      { key: 'image', dependsOn: ['build'], wallMs: 4000 },
      { key: 'smoke', dependsOn: ['image'], wallMs: 1000 },
    ];
    expect(criticalPath(steps)).toEqual({ ms: 10_000, path: ['build', 'image', 'smoke'] });
  });

  it('totals agent time, installs, restores, and Nx tasks that ran twice in one build', () => {
    const totals = agentTotals([
      metrics('build', { install: 'npm ci', installMs: 17_000, wallMs: 30_000, nxExecuted: ['@engex/ci-lib:build', '@engex/halow:build'] }),
      metrics('image', { dependsOn: ['build'], wallMs: 20_000, nxExecuted: ['@engex/ci-lib:build'], nxCached: ['@engex/halow:build'] }),
      metrics('plan', { install: 'none', installMs: 0, wallMs: 500 }),
    ]);
    expect(totals).toEqual({
      agentMs: 50_500,
      criticalPathMs: 50_000,
      criticalPath: ['build', 'image'],
      installs: 1,
      restores: 1,
      nxExecuted: 3,
      nxCached: 1,
      executedTwice: ['@engex/ci-lib:build'],
    });
    const report = renderAgentReport({
      steps: [metrics('build', { install: 'npm ci', installMs: 17_000, nxExecuted: ['a:build'] })],
      totals,
      canceled: [{ key: 'image', label: 'image', dependsOn: ['build'] }],
      npmCache: 'cold',
      depsCache: '/c',
      nxCache: 'off',
    });
    expect(report).toMatchInlineSnapshot(`
      "
      Fresh agents (npm download cache cold; dependency cache /c; Nx cache off):
        STEP   WALL  INSTALL       NX RAN   NX CACHED
        build  1.0s  npm ci 17.0s  a:build  -
        agent time 50.5s (sum of job walls); critical path 50.0s (longest depends_on chain of measured walls: build -> image)
        installs: 1 npm ci, 1 restored from the dependency cache; Nx tasks: 3 ran, 1 from cache
        Nx tasks that ran in more than one job: @engex/ci-lib:build
        canceled, never started here (cancel_on_build_failing): image
      "
    `);
  });
});
