import type { CommandStep, Pipeline, StepMeta } from '../core/pipeline.js';
import { LocalPlanError } from '../core/errors.js';
import { allSteps } from '../core/pipeline.js';
import { stableOrder } from '../core/graph.js';
import { interpolate } from './interpolate.js';
import { readPlugin, type LocalPlugin } from './plugin-config.js';
import { readUploaded, type UploadedCommandStep } from './uploaded-steps.js';
import { unreachable } from './unreachable.js';

export { LocalPlanError } from '../core/errors.js';

/**
 * What a local run executes: each step's uploaded command text after Buildkite's interpolation,
 * its plugins as emulations, and the steps that cannot run here with the reason. The typed
 * model only says what a step is for (notes, skips); its commands are never re-implemented.
 * Pure: every fact about the machine arrives in `LocalRunContext`.
 */

export interface LocalRunContext {
  /**
   * The environment of the job that uploads the pipeline (this build's `BUILDKITE_*`): with the
   * pipeline's top-level `env`, what upload-time interpolation reads.
   */
  uploadEnv: Readonly<Record<string, string>>;
  /** Container images the local engine has (a scan step's Trivy image must be one of them). */
  presentImages: ReadonlySet<string>;
}

/** What every local step has, command or block. */
interface LocalStepBase {
  key: string;
  label: string;
  /** Command-step keys (group keys expanded) this step waits for. */
  dependsOn: string[];
  notes: string[];
  meta?: StepMeta;
}

/** A command step: a job on an agent of its queue. */
export interface LocalCommandStep extends LocalStepBase {
  type: 'command';
  timeoutMs: number;
  /** The queue whose agents run it, and whose environment and hooks it gets. */
  queue: string;
  /** The pipeline's and the step's `env`, interpolated (the job's own variables). */
  env: Record<string, string>;
  /** The step's command lines after interpolation; the job runs them joined by newlines under `bash -e -c`. */
  commands: string[];
  plugins: LocalPlugin[];
  artifactPaths: string[];
  /** Buildkite's automatic retries: a failed job whose exit status matches runs again on a fresh agent. */
  retry: { exitStatus: number | '*'; limit: number }[];
  /** Set when the step cannot run here; the reason is printed and kept in the summary. */
  skip?: string;
  /** `cancel_on_build_failing`: once a job of the build failed, the step is canceled instead of started. */
  cancelOnBuildFailing: boolean;
}

/** A block step: no job; it waits for approval (`--approve`). */
export interface LocalBlockStep extends LocalStepBase {
  type: 'block';
  prompt: string;
}

export type LocalStep = LocalCommandStep | LocalBlockStep;

export interface LocalRunPlan {
  /** In execution order: every step after the steps it depends on, otherwise pipeline order. */
  steps: LocalStep[];
  /** Slack notifications, printed instead of sent. */
  notify: Pipeline['notify'];
}

export function planLocalRun(pipeline: Pick<Pipeline, 'steps' | 'notify'>, ctx: LocalRunContext): LocalRunPlan {
  const uploaded = readUploaded(pipeline);
  const typed = new Map(allSteps(pipeline).map((s) => [s.key, s]));
  const expand = (deps: readonly string[]): string[] => [...new Set(deps.flatMap((d) => uploaded.groups.get(d) ?? [d]))];
  const at = (text: string, step: string): string => {
    try {
      return interpolate(text, { ...ctx.uploadEnv, ...pipelineEnv });
    } catch (error) {
      throw new LocalPlanError(`Step ${step}: ${(error as Error).message}`);
    }
  };
  const pipelineEnv = Object.fromEntries(Object.entries(uploaded.env).map(([k, v]) => [k, interpolate(v, ctx.uploadEnv)]));
  const steps = uploaded.steps.map((s): LocalStep => {
    const base = { key: s.key, label: s.label, dependsOn: expand(s.dependsOn), notes: [], meta: typed.get(s.key)?.meta };
    switch (s.type) {
      case 'block':
        return { ...base, type: 'block', prompt: s.prompt };
      case 'command':
        return {
          ...base,
          type: 'command',
          timeoutMs: s.timeoutInMinutes * 60_000,
          queue: s.queue,
          env: { ...pipelineEnv, ...Object.fromEntries(Object.entries(s.env).map(([k, v]) => [k, at(v, s.key)])) },
          commands: s.commands.map((c) => at(c, s.key)),
          plugins: s.plugins.map((p, i) => readPlugin(p.ref, p.config, `step ${s.key} plugins[${i}]`)),
          artifactPaths: s.artifactPaths.map((p) => at(p, s.key)),
          retry: s.retry,
          cancelOnBuildFailing: s.cancelOnBuildFailing,
          skip: skipReason(s, typed.get(s.key), ctx),
        };
      default:
        return unreachable(s);
    }
  });
  return { steps: orderSteps(steps), notify: pipeline.notify };
}

/** Steps whose outside parts do not exist here: said, never passed silently. */
function skipReason(step: UploadedCommandStep, typed: CommandStep | { meta: StepMeta } | undefined, ctx: LocalRunContext): string | undefined {
  const meta = typed?.meta;
  const trivy = typed && 'commands' in typed ? trivyImageOf(typed) : undefined;
  if (trivy !== undefined && !ctx.presentImages.has(trivy)) {
    // An untrusted build's image step scans in place: the step runs whole or not at all.
    const what = meta?.kind === 'image' ? 'not built, smoked or scanned here (an untrusted build scans in the image step)' : 'not scanned, not passed';
    return `the Trivy image ${trivy} is not in the local Docker engine (\`docker pull ${trivy}\` to scan locally); ${what}: neither the image nor its SBOM`;
  }
  if (meta?.kind === 'verify')
    return `deploy verify needs the service deployed${meta.url !== undefined ? ` at ${meta.url}` : ''} (and ArgoCD where set); no cluster here (step ${step.key})`;
  return undefined;
}

/** The Trivy container a step runs, if it scans. */
export function trivyImageOf(step: Pick<CommandStep, 'commands'>): string | undefined {
  for (const command of step.commands) if (command.kind === 'trivy') return command.containerImage;
  return undefined;
}

/** Every step after the steps it depends on, otherwise in pipeline order (core/graph.ts `stableOrder`). */
export function orderSteps<T extends { key: string; dependsOn: readonly string[] }>(steps: readonly T[]): T[] {
  const index = new Map(steps.map((s, i) => [s.key, i]));
  const deps = steps.map((s) =>
    s.dependsOn.map((d) => {
      const i = index.get(d);
      if (i === undefined) throw new LocalPlanError(`Step ${s.key} depends on unknown step ${d}.`);
      return i;
    }),
  );
  const order = stableOrder(steps.length, deps, (remaining) => {
    throw new LocalPlanError(`Dependency cycle among steps ${remaining.map((i) => (steps[i] as T).key).join(', ')}.`);
  });
  return order.map((i) => steps[i] as T);
}
