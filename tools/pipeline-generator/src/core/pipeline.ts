/**
 * The typed pipeline the planner produces. It is the runtime meaning of each step: commands are
 * argument vectors exactly as a process should receive them (no Buildkite escaping, no shell
 * quoting). `renderPipeline` turns it into Buildkite's schema; a local runner can execute it
 * directly. Field names follow Buildkite's where one exists (see buildkite/buildkite-sdk
 * `src/types/schema.ts`), camel-cased.
 */

/** Why a command is in a step, so a local runner can skip or substitute it. */
export type CommandRole =
  /** Prepares the agent (dependency install); a local runner with a ready checkout skips it. */
  | 'setup'
  /** `npx nx run <project>:<target>`. */
  | 'nx'
  /** A call to the `engex-ci` CLI. */
  | 'engex-ci'
  /** `docker pull` of the image to scan. */
  | 'docker-pull'
  /** The Trivy scan; see `ScanStepMeta.trivy` to run a local `trivy` binary instead. */
  | 'trivy'
  /** `buildkite-agent annotate`. */
  | 'annotate'
  /** Creates a folder in the checkout (`mkdir -p`). */
  | 'prepare'
  /** Prints a message; does nothing else. */
  | 'echo';

export interface StepCommand {
  /** Argument vector; `argv[0]` is looked up on PATH. Rendered shell-quoted, token by token. */
  argv: readonly string[];
  /** Checkout-relative file fed to stdin. */
  stdin?: string;
  /** Checkout-relative file that receives stdout; its folder must exist (see role `prepare`). */
  stdout?: string;
  /**
   * On failure, keep going with the next commands and fail the step at the end with this status
   * (so a failed scan gate still gets its annotation).
   */
  deferFailure?: boolean;
  role: CommandRole;
}

/** A Buildkite plugin, pinned: `ref` is e.g. `ecr#v2.10.0`. */
export interface PluginUse {
  ref: string;
  config: Readonly<Record<string, unknown>>;
}

export interface AutomaticRetry {
  exitStatus: number;
  limit: number;
}

export interface ImageRef {
  /** Registry host, e.g. `460210468233.dkr.ecr.us-east-1.amazonaws.com`. A local run swaps it for `REGISTRY`. */
  registry: string;
  /** Repository, e.g. `engex/halow`. */
  repository: string;
  /** The commit sha. */
  tag: string;
}

/** What a step is for; not rendered into the Buildkite YAML. */
export type StepMeta =
  | { kind: 'plan' }
  | { kind: 'nothing-affected' }
  | { kind: 'nx-task'; project: string; target: string; taskId: string }
  | { kind: 'image'; project: string; service: string; image: ImageRef }
  | {
      kind: 'scan';
      project: string;
      service: string;
      image: ImageRef;
      trivy: {
        version: string;
        /** The container image that runs Trivy on an agent, e.g. `aquasec/trivy:0.58.2`. */
        containerImage: string;
        /** Arguments after `trivy` (the image reference last); a local `trivy` binary takes the same. */
        args: readonly string[];
        /** Checkout-relative JSON report that `engex-ci scan report` reads. */
        output: string;
      };
    }
  | { kind: 'smoke'; project: string; service: string; image: ImageRef }
  | { kind: 'deploy'; project: string; service: string; repo: string; overlay: string; image: ImageRef };

export interface CommandStep {
  type: 'command';
  /** Unique within the build; matches Buildkite's key rules (`[a-zA-Z0-9_:.-]`, at most 100). */
  key: string;
  label: string;
  /** Run in order; the step fails at the first failing command. */
  commands: readonly StepCommand[];
  dependsOn: readonly string[];
  plugins: readonly PluginUse[];
  timeoutInMinutes: number;
  /** Agent query rules; `renderPipeline` hoists them to the pipeline when every step shares them. */
  agents: Readonly<Record<string, string>>;
  retry: readonly AutomaticRetry[];
  env: Readonly<Record<string, string>>;
  artifactPaths: readonly string[];
  concurrency?: { group: string; limit: number };
  meta: StepMeta;
}

/** One group per project; its steps run in parallel as far as `dependsOn` allows. */
export interface GroupStep {
  type: 'group';
  key: string;
  /** The project name. */
  label: string;
  project: string;
  steps: readonly CommandStep[];
}

export type PipelineStep = CommandStep | GroupStep;

export interface SlackNotify {
  channel: string;
  /** A Buildkite conditional, e.g. `build.state == "failed"`. */
  if: string;
}

export interface Pipeline {
  steps: readonly PipelineStep[];
  notify: readonly SlackNotify[];
}

/** Every command step, groups flattened, in pipeline order. */
export function commandSteps(pipeline: Pick<Pipeline, 'steps'>): CommandStep[] {
  return pipeline.steps.flatMap((s) => (s.type === 'group' ? [...s.steps] : [s]));
}
