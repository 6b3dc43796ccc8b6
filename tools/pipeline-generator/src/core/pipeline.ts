/**
 * The typed pipeline the planner produces. It is the runtime meaning of each step: commands are
 * typed data (no Buildkite escaping, no shell quoting, no argv to parse back). `renderPipeline`
 * turns it into Buildkite's schema; a local runner maps it onto the machine. Field names follow Buildkite's where one exists (see buildkite/buildkite-sdk
 * `src/types/schema.ts`), camel-cased.
 */

import type { EngexCiCall } from '@engex/ci-lib/contract';

/**
 * What an `engex-ci` call does, as data: ci-lib owns the type, derived from the command table its
 * CLI parses, and its `toArgv` spells it (`core/shell.ts`).
 */
export type { EngexCiCall };

/** What Trivy scans: the pulled image (OS packages, runtime), or a checkout-relative CycloneDX SBOM. */
export type TrivyTarget = { target: 'image'; image: ImageRef } | { target: 'sbom'; sbom: string };

/**
 * One command of a step, as typed data. `core/shell.ts` turns it into the argument vector (and
 * the shell line Buildkite runs); a local runner maps each kind to what it means here, without
 * reading argv back.
 */
export type StepCommand =
  /** Installs the workspace's dependencies on a fresh agent (`npm ci`). */
  | { kind: 'install' }
  | {
      kind: 'nx';
      /** Argument vector that runs Nx, e.g. `npx nx`. */
      nx: readonly string[];
      project: string;
      target: string;
      /** Passed to the target after `--`. */
      args?: readonly string[];
      /** Prepares the agent (e.g. builds the engex-ci bundle); a local run does it once per run. */
      setup?: boolean;
      /** On failure, keep going with the next commands and fail the step at the end with this status. */
      deferFailure?: boolean;
    }
  /**
   * `nx run-many` of several targets of one project (`stepGranularity: "project"`); Nx runs them
   * and their dependency tasks, in parallel where it can, and reports each.
   */
  | {
      kind: 'nx-run-many';
      /** Argument vector that runs Nx, e.g. `npx nx`. */
      nx: readonly string[];
      project: string;
      targets: readonly string[];
      deferFailure?: boolean;
    }
  | {
      kind: 'engex-ci';
      /** Argument vector that runs the `engex-ci` CLI. */
      bin: readonly string[];
      call: EngexCiCall;
      /**
       * On failure, keep going with the next commands and fail the step at the end with this
       * status (so a failed scan gate still gets its annotation).
       */
      deferFailure?: boolean;
      /** On failure, annotate with this checkout-relative file (style error), then fail with the same status. */
      annotateOnFailure?: { context: string; file: string };
    }
  /**
   * `buildkite-agent meta-data`: `set` stores the first line of `file` under `key`; `get` writes
   * the value to `file`. Files, not `$(…)`, keep the command typed.
   */
  | { kind: 'meta-data'; op: 'set' | 'get'; key: string; file: string }
  /** `buildkite-agent annotate`; the body is given inline or read from a checkout-relative file. */
  | {
      kind: 'annotate';
      context: string;
      style: 'default' | 'info' | 'warning' | 'error' | 'success';
      body?: string;
      bodyFile?: string;
      /** Add to the context's annotation instead of replacing it. */
      append?: boolean;
    }
  /** `docker pull` of the image to scan. */
  | { kind: 'pull'; image: ImageRef }
  /**
   * `buildkite-agent artifact download` of a checkout-relative file another step uploaded, to the
   * same path here (the step runs on a fresh agent).
   */
  | { kind: 'artifact-download'; path: string; step: string }
  /** A Trivy scan in the Trivy container; its JSON goes to `report`. */
  | ({ kind: 'trivy'; containerImage: string; report: string } & TrivyTarget)
  /** Any other program: `argv[0]` is looked up on PATH. */
  | {
      kind: 'exec';
      argv: readonly string[];
      /** Checkout-relative file fed to stdin. */
      stdin?: string;
      /** Checkout-relative file that receives stdout. */
      stdout?: string;
    };

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
  /** Passes once every check of the build passed; deploys with `deployWhen: "build"` wait for it. */
  | { kind: 'checks-gate' }
  | { kind: 'nx-task'; project: string; target: string; taskId: string }
  /** Every affected task of one project in one job (`stepGranularity: "project"`). */
  | { kind: 'nx-project'; project: string; targets: readonly string[]; taskIds: readonly string[] }
  | {
      kind: 'image';
      project: string;
      service: string;
      image: ImageRef;
      /**
       * `local`: an untrusted build's image step: builds, smokes and scans the image on its own
       * agent and pushes nothing (no scan step follows, no deploy).
       */
      zone?: 'local';
    }
  | {
      kind: 'scan';
      project: string;
      service: string;
      image: ImageRef;
      trivy: {
        version: string;
        /** The container image that runs Trivy on an agent, e.g. `aquasec/trivy:0.58.2`. */
        containerImage: string;
        /** Checkout-relative JSON report that `engex-ci scan report` reads. */
        output: string;
        /** Checkout-relative CycloneDX SBOM (the image step's artifact) and its Trivy JSON report. */
        sbom: string;
        sbomOutput: string;
      };
    }
  | {
      kind: 'deploy';
      project: string;
      service: string;
      /** The ops repository. */
      repo: string;
      /** Overlay folder in the ops repo, e.g. `overlays/staging`. */
      overlay: string;
      /** The image name its kustomization lists (`image.tag` is the new tag). */
      imageName: string;
      image: ImageRef;
    }
  | { kind: 'verify'; project: string; service: string; overlay: string; url?: string; image: ImageRef }
  | { kind: 'approval'; project: string; service: string; overlay: string };

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
  /** Buildkite's manual retry; absent: Buildkite's default (allowed). */
  retryManual?: { permitOnPassed: boolean; reason?: string };
  /**
   * Buildkite's `cancel_on_build_failing`: once any job of the build has failed, this job is
   * canceled (running) or never started (waiting). Absent: Buildkite's default (false).
   */
  cancelOnBuildFailing?: boolean;
  meta: StepMeta;
}

/** A Buildkite `block` step: the build waits here until someone unblocks it. */
export interface BlockStep {
  type: 'block';
  key: string;
  /** The button's label. */
  label: string;
  /** Shown with the button; Buildkite does not run commands in it, so it says where to look. */
  prompt: string;
  dependsOn: readonly string[];
  meta: Extract<StepMeta, { kind: 'approval' }>;
}

/** One group per project; its steps run in parallel as far as `dependsOn` allows. */
export interface GroupStep {
  type: 'group';
  key: string;
  /** The project name. */
  label: string;
  project: string;
  steps: readonly (CommandStep | BlockStep)[];
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

/** Every command step, groups flattened, in pipeline order (block steps left out). */
export function commandSteps(pipeline: Pick<Pipeline, 'steps'>): CommandStep[] {
  return allSteps(pipeline).filter((s): s is CommandStep => s.type === 'command');
}

/** Every command and block step, groups flattened, in pipeline order. */
export function allSteps(pipeline: Pick<Pipeline, 'steps'>): (CommandStep | BlockStep)[] {
  return pipeline.steps.flatMap((s) => (s.type === 'group' ? [...s.steps] : [s]));
}
