/** What the live progress and the final table say. Pure: results and durations are data. */

/**
 * `waiting`: a block step nobody approved (`--approve` approves them); neither passed nor failed.
 * `canceled`: a `cancel_on_build_failing` step once another job failed; it fails the build, as
 * Buildkite's canceled job does (the build had already failed).
 */
export type StepStatus = 'passed' | 'failed' | 'skipped' | 'blocked' | 'interrupted' | 'waiting' | 'canceled';

export interface StepResult {
  key: string;
  label: string;
  status: StepStatus;
  durationMs: number;
  /** Exit status of the failing command (failed), or the signal that ended it. */
  exitCode?: number;
  /** One line: the skip reason, the blocking step, or the last line an `engex-ci` call printed. */
  note?: string;
  /** Where the full output is. */
  log?: string;
}

export interface RunSummaryInput {
  commit: string;
  branch: string;
  registry: string;
  results: readonly StepResult[];
  totalMs: number;
  /** Printed lines for Slack notifications that would have been sent. */
  notifications: readonly string[];
  /** Annotation files written during the run. */
  annotations: readonly string[];
  runDir: string;
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

const MARK: Record<StepStatus, string> = {
  passed: 'ok',
  failed: 'FAILED',
  skipped: 'SKIPPED',
  blocked: 'not run',
  interrupted: 'INTERRUPTED',
  waiting: 'WAITING',
  canceled: 'CANCELED',
};

export function renderStepStart(index: number, total: number, label: string, key: string): string {
  return `--- [${index}/${total}] ${label} (${key})`;
}

export function renderStepEnd(result: StepResult): string {
  const parts = [`    ${MARK[result.status]} ${result.label} in ${formatDuration(result.durationMs)}`];
  if (result.exitCode !== undefined && result.status !== 'passed') parts.push(`exit ${result.exitCode}`);
  if (result.note) parts.push(result.note);
  return parts.join(' · ');
}

/** The run's exit status: the first failing step's exit status, 130 when interrupted, 1 for a canceled step alone, else 0. */
export function runExitCode(results: readonly StepResult[]): number {
  if (results.some((r) => r.status === 'interrupted')) return 130;
  const failed = results.find((r) => r.status === 'failed');
  if (!failed) return results.some((r) => r.status === 'canceled') ? 1 : 0;
  return failed.exitCode !== undefined && failed.exitCode > 0 && failed.exitCode < 126 ? failed.exitCode : 1;
}

export function renderSummary(input: RunSummaryInput): string {
  const rows = input.results.map((r) => [MARK[r.status], formatDuration(r.durationMs), r.label, r.note ?? '']);
  const header = ['STATUS', 'TIME', 'STEP', 'NOTE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  widths[3] = 0;
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const count = (s: StepStatus): number => input.results.filter((r) => r.status === s).length;
  const outcome = runExitCode(input.results) === 0 ? 'PASSED' : count('interrupted') > 0 ? 'INTERRUPTED' : 'FAILED';
  const totals = [
    `${count('passed')} passed`,
    `${count('failed')} failed`,
    `${count('skipped')} skipped`,
    `${count('blocked')} not run`,
    ...(count('canceled') > 0 ? [`${count('canceled')} canceled`] : []),
    ...(count('waiting') > 0 ? [`${count('waiting')} waiting for approval`] : []),
  ];
  const out = [
    '',
    `Local pipeline ${outcome} for ${input.commit.slice(0, 12)} on ${input.branch} (registry ${input.registry}) in ${formatDuration(input.totalMs)}`,
    `  ${line(header)}`,
    ...rows.map((row) => `  ${line(row)}`),
    `  ${totals.join(', ')}`,
  ];
  for (const n of input.notifications) out.push(n);
  for (const a of input.annotations) out.push(`Annotation: ${a}`);
  const failed = input.results.filter((r) => r.status === 'failed' && r.log);
  for (const f of failed) out.push(`Log of ${f.label}: ${f.log}`);
  out.push(`Logs, annotations and artifacts: ${input.runDir}`);
  return `${out.join('\n')}\n`;
}

/** Buildkite's `notify` conditions that a local run can evaluate: build.state comparisons. */
export function renderNotifications(notify: readonly { channel: string; if: string }[], state: 'passed' | 'failed', subject: string): string[] {
  return notify.map((n) => {
    const m = /^build\.state\s*(==|!=)\s*"([a-z_]+)"$/.exec(n.if.trim());
    const fires = m ? (m[1] === '==') === (m[2] === state) : true;
    return fires ? `Slack (not sent, local run): ${n.channel}: ${subject} ${state}` : `Slack (not sent, local run): ${n.channel}: nothing to send (${n.if} is false)`;
  });
}
