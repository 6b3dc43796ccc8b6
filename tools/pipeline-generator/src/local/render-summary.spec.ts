import { describe, expect, it } from 'vitest';
import { formatDuration, renderNotifications, renderStepEnd, renderSummary, runExitCode, type StepResult } from './render-summary.js';

const results: StepResult[] = [
  { key: 'engex-plan', label: ':pipeline: Plan', status: 'passed', durationMs: 40 },
  { key: 'halow:test', label: 'test @engex/halow', status: 'passed', durationMs: 12_345 },
  { key: 'halow:image', label: ':docker: image halow', status: 'passed', durationMs: 83_000, note: 'engex/halow:abc already present with digest sha256:1234' },
  { key: 'halow:scan', label: ':shield: scan halow', status: 'skipped', durationMs: 0, note: 'trivy is not on PATH' },
  { key: 'halow:deploy', label: ':rocket: deploy halow', status: 'failed', durationMs: 2_100, exitCode: 4, note: 'push rejected', log: '/s/logs/halow_deploy.log' },
  { key: 'after', label: 'after', status: 'blocked', durationMs: 0, note: 'needs halow:deploy (failed)' },
];

describe('renderSummary', () => {
  it('shows every step with its status, time and note', () => {
    const text = renderSummary({
      commit: 'd'.repeat(40),
      branch: 'main',
      registry: '127.0.0.1:5000',
      results,
      totalMs: 98_000,
      notifications: renderNotifications([{ channel: '#engex-builds', if: 'build.state == "failed"' }], 'failed', 'build of main'),
      annotations: ['/s/annotations/engex-plan.md'],
      runDir: '/s',
    });
    expect(text).toMatchInlineSnapshot(`
      "
      Local pipeline FAILED for dddddddddddd on main (registry 127.0.0.1:5000) in 1m38s
        STATUS    TIME  STEP                   NOTE
        ok        0.0s  :pipeline: Plan
        ok       12.3s  test @engex/halow
        ok       1m23s  :docker: image halow   engex/halow:abc already present with digest sha256:1234
        SKIPPED   0.0s  :shield: scan halow    trivy is not on PATH
        FAILED    2.1s  :rocket: deploy halow  push rejected
        not run   0.0s  after                  needs halow:deploy (failed)
        3 passed, 1 failed, 1 skipped, 1 not run
      Slack (not sent, local run): #engex-builds: build of main failed
      Annotation: /s/annotations/engex-plan.md
      Log of :rocket: deploy halow: /s/logs/halow_deploy.log
      Logs, annotations and artifacts: /s
      "
    `);
  });

  it('renders one progress line per finished step', () => {
    expect(renderStepEnd(results[4]!)).toBe('    FAILED :rocket: deploy halow in 2.1s · exit 4 · push rejected');
  });
});

describe('runExitCode', () => {
  it('is the first failing status, so an immutable-tag conflict (3) reaches the caller', () => {
    expect(runExitCode(results)).toBe(4);
    expect(runExitCode(results.filter((r) => r.status !== 'failed'))).toBe(0);
    expect(runExitCode([{ key: 'k', label: 'l', status: 'failed', durationMs: 1, exitCode: 3 }])).toBe(3);
    expect(runExitCode([{ key: 'k', label: 'l', status: 'failed', durationMs: 1, exitCode: 137 }])).toBe(1);
    expect(runExitCode([{ key: 'k', label: 'l', status: 'interrupted', durationMs: 1 }])).toBe(130);
    // A canceled step fails the build, as on Buildkite, even when nothing else reports a status.
    expect(runExitCode([{ key: 'k', label: 'l', status: 'canceled', durationMs: 0 }])).toBe(1);
  });
});

describe('renderNotifications', () => {
  it('evaluates build.state conditions', () => {
    const notify = [{ channel: '#c', if: 'build.state == "failed"' }];
    expect(renderNotifications(notify, 'passed', 'x')).toEqual(['Slack (not sent, local run): #c: nothing to send (build.state == "failed" is false)']);
    expect(renderNotifications(notify, 'failed', 'x')).toEqual(['Slack (not sent, local run): #c: x failed']);
  });
});

describe('formatDuration', () => {
  it('uses seconds below a minute', () => {
    expect([formatDuration(0), formatDuration(59_940), formatDuration(61_000), formatDuration(3_600_000)]).toEqual(['0.0s', '59.9s', '1m01s', '60m00s']);
  });
});
