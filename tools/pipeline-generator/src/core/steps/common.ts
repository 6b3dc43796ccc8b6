import type { CommandStep, StepCommand } from '../pipeline.js';

/** Planner options with every default applied (see `normalizePlanOptions`). */
export interface PlanOptions {
  /** CI targets, in display order. */
  targets: readonly string[];
  /** Prefixed to every step that needs the workspace's dependencies. */
  setup: readonly StepCommand[];
  /** Argument vector that runs Nx, e.g. `npx nx`. */
  nx: readonly string[];
  /** Argument vector that runs the `engex-ci` CLI. */
  engexCi: readonly string[];
  /** Makes `engexCi` runnable (e.g. builds its bundle); after `setup`. */
  engexCiSetup: readonly StepCommand[];
  /** Step timeouts in minutes; `verifyDeadline` is `deploy verify`'s own deadline (its step gets 5 more). */
  timeouts: { task: number; image: number; scan: number; smoke: number; deploy: number; plan: number; verifyDeadline: number };
}

/** The fields every command step of a pipeline shares (agents, retry, …). */
export type Common = Pick<CommandStep, 'agents' | 'retry' | 'env' | 'artifactPaths' | 'plugins'>;

export function nxRun(options: PlanOptions, project: string, target: string, args?: readonly string[]): StepCommand {
  return { kind: 'nx', nx: options.nx, project, target, ...(args?.length ? { args } : {}) };
}
