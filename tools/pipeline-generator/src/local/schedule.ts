import type { LocalCommandStep, LocalStep } from './plan-local-run.js';
import type { StepStatus } from './render-summary.js';
import { unreachable } from './unreachable.js';

/**
 * What runs next, as Buildkite decides it for a build: pure, so the rules are tested without
 * agents. A step waits for every step it depends on (`depends_on`, groups expanded); one that
 * did not pass (failed, not run, interrupted, waiting for approval) keeps it from running, and a
 * step skipped with a reason counts as done. A block step passes when approved and otherwise
 * waits. Buildkite's `wait` and `soft_fail` are not in the pipeline model, so they have no rule:
 * a job that failed (its automatic retries used up) has failed for good, and the build is failing.
 * Then a step with `cancel_on_build_failing` whose dependencies are done is canceled instead of
 * started. Jobs run one at a time here, so none is running when another fails: the only cancel to
 * emulate is of a step not started yet (on a fleet it may have been running until the first red;
 * bench:agents charges that time).
 */

export interface ScheduleState {
  /** The run was interrupted (Ctrl-C): nothing new starts. */
  interrupted: boolean;
  /** `--approve`: block steps pass. */
  approve: boolean;
}

/** What happens to one step: a job starts, or the step settles without one. */
export type StepDecision =
  | { kind: 'run'; step: LocalCommandStep }
  /**
   * Settled without a job. `announce`, what the progress shows: `reached`, the step's header,
   * notes and result (a block, a skip); `end-only`, its result line (kept from running by a
   * dependency); `silent`, nothing (after an interrupt; the summary still lists it).
   */
  | { kind: 'settle'; status: StepStatus; note: string; announce: 'reached' | 'end-only' | 'silent' };

/** The statuses that let a dependent step run. */
const DONE: ReadonlySet<StepStatus> = new Set(['passed', 'skipped']);

export function decideStep(step: LocalStep, settled: ReadonlyMap<string, StepStatus>, state: ScheduleState): StepDecision {
  if (state.interrupted) return { kind: 'settle', status: 'blocked', note: 'run interrupted', announce: 'silent' };
  for (const dep of step.dependsOn) {
    const status = settled.get(dep);
    if (status === undefined || DONE.has(status)) continue;
    const why = status === 'blocked' ? 'not run' : status === 'waiting' ? 'waiting for approval' : status;
    return { kind: 'settle', status: 'blocked', note: `needs ${dep} (${why})`, announce: 'end-only' };
  }
  // After the dependencies: a step kept from running by one (a failed build job) is not run either
  // way, so a canceled step is one whose dependencies all ended (bench:agents' fleet charge relies on it).
  const red = step.type === 'command' && step.cancelOnBuildFailing ? firstFailed(settled) : undefined;
  if (red !== undefined) return { kind: 'settle', status: 'canceled', note: `canceled: ${red} failed (cancel_on_build_failing)`, announce: 'end-only' };
  switch (step.type) {
    case 'block':
      return state.approve
        ? { kind: 'settle', status: 'passed', note: 'approved (--approve)', announce: 'reached' }
        : { kind: 'settle', status: 'waiting', note: 'waiting for approval: rerun with --approve to unblock', announce: 'reached' };
    case 'command':
      return step.skip !== undefined ? { kind: 'settle', status: 'skipped', note: step.skip, announce: 'reached' } : { kind: 'run', step };
    default:
      return unreachable(step);
  }
}

/** The first step that failed for good, i.e. what turned the build failing; undefined while it is not. */
export function firstFailed(settled: ReadonlyMap<string, StepStatus>): string | undefined {
  for (const [key, status] of settled) if (status === 'failed') return key;
  return undefined;
}

export type RetryRule = LocalCommandStep['retry'][number];

/**
 * Buildkite's `retry.automatic`: the rule that sends a failed job (exit `exitCode`) to a fresh
 * agent again, or undefined when none matches or its `limit` is used up. `attempts` counts the
 * retries so far by rule; the caller records the one it takes.
 */
export function retryRule(
  step: Pick<LocalCommandStep, 'retry'>,
  outcome: { status: StepStatus; exitCode?: number },
  attempts: ReadonlyMap<RetryRule['exitStatus'], number>,
): RetryRule | undefined {
  if (outcome.status !== 'failed' || outcome.exitCode === undefined) return undefined;
  const rule = step.retry.find((r) => r.exitStatus === outcome.exitCode || r.exitStatus === '*');
  return rule !== undefined && (attempts.get(rule.exitStatus) ?? 0) < rule.limit ? rule : undefined;
}
