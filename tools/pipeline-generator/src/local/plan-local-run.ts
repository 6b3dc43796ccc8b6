import type { CommandStep, Pipeline, StepCommand, StepMeta } from '../core/pipeline.js';
import { stableOrder } from '../core/graph.js';
import { commandSteps } from '../core/pipeline.js';

/**
 * Maps the generated pipeline onto this machine: which commands run as they are, which are
 * replaced by a local equivalent (annotations, the ops repo, the registry) and which are skipped
 * and why. Pure: every fact about the machine arrives in `LocalRunContext`.
 */

export interface LocalRunContext {
  /** `host:port` of the plain registry that stands in for ECR. */
  registry: string;
  /** The local `trivy` binary, or undefined when it is not on PATH. */
  trivy?: string;
  /** Service name → the local ops repository (a path to a bare git repo) that stands in for its ops repo. */
  opsRepos: Readonly<Record<string, string>>;
}

export type LocalAction =
  | {
      kind: 'exec';
      argv: string[];
      /** Checkout-relative file fed to stdin. */
      stdin?: string;
      /** Checkout-relative file that receives stdout. */
      stdout?: string;
      /** An `engex-ci` call, whose last output line makes the summary's note. */
      reportsOutcome: boolean;
      /** On failure, run the next commands and fail the step at the end. */
      deferFailure: boolean;
      /** Agent preparation (e.g. building the engex-ci bundle): once it passed in this run, later steps skip it. */
      once: boolean;
    }
  /** `buildkite-agent annotate`, written to the run folder instead. */
  | { kind: 'annotate'; context: string; style: string; append: boolean; body?: string; bodyFile?: string }
  /** A command with no local meaning, e.g. the agent's `npm ci` in a checkout that is ready. */
  | { kind: 'omit'; command: string; reason: string };

export interface LocalStep {
  key: string;
  label: string;
  /** Command-step keys (group keys expanded) this step waits for. */
  dependsOn: string[];
  timeoutMs: number;
  env: Record<string, string>;
  actions: LocalAction[];
  /** Set when the whole step cannot run here; the reason is printed and kept in the summary. */
  skip?: string;
  /** How Buildkite-only parts were mapped, e.g. the ECR login. */
  notes: string[];
  artifactPaths: string[];
  meta: StepMeta;
}

export interface LocalRunPlan {
  /** In execution order: every step after the steps it depends on, otherwise pipeline order. */
  steps: LocalStep[];
  /** Slack notifications, printed instead of sent. */
  notify: Pipeline['notify'];
}

export class LocalPlanError extends Error {
  constructor(message: string) {
    super(`${message}\nThis is a generator bug: report it with the output of \`engex-pipeline generate --format json\`.`);
    this.name = this.constructor.name;
  }
}

const ECR_PLUGIN = /^(ecr|buildkite-plugins\/ecr)#/;
const DOCKER_PLUGIN = /^(docker|buildkite-plugins\/docker)#/;

export function planLocalRun(pipeline: Pick<Pipeline, 'steps' | 'notify'>, ctx: LocalRunContext): LocalRunPlan {
  const steps = commandSteps(pipeline);
  const groups = new Map<string, string[]>();
  for (const s of pipeline.steps) if (s.type === 'group') groups.set(s.key, s.steps.map((c) => c.key));
  const mapped = steps.map((step) => mapStep(step, groups, ctx));
  return { steps: orderSteps(mapped), notify: pipeline.notify };
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

function mapStep(step: CommandStep, groups: ReadonlyMap<string, string[]>, ctx: LocalRunContext): LocalStep {
  const notes: string[] = [];
  const dependsOn = [...new Set(step.dependsOn.flatMap((d) => groups.get(d) ?? [d]))];
  const local: LocalStep = {
    key: step.key,
    label: step.label,
    dependsOn,
    timeoutMs: step.timeoutInMinutes * 60_000,
    env: { ...step.env },
    actions: [],
    notes,
    artifactPaths: [...step.artifactPaths],
    meta: step.meta,
  };
  const unknownPlugin = step.plugins.find((p) => !ECR_PLUGIN.test(p.ref) && !DOCKER_PLUGIN.test(p.ref));
  if (unknownPlugin) {
    local.skip = `plugin ${unknownPlugin.ref} has no local equivalent`;
    return local;
  }
  if (step.plugins.some((p) => ECR_PLUGIN.test(p.ref))) notes.push(`ECR login skipped: pushing to the local registry ${ctx.registry}`);

  const meta = step.meta;
  if (meta.kind === 'scan' && ctx.trivy === undefined) {
    local.skip = `trivy is not on PATH: install Trivy ${meta.trivy.version} (https://trivy.dev) to scan locally; not scanned, not passed`;
    return local;
  }
  for (const command of step.commands) local.actions.push(mapCommand(command, step, ctx));
  if (meta.kind === 'scan' && step.plugins.some((p) => DOCKER_PLUGIN.test(p.ref))) {
    notes.push(`Trivy runs from ${ctx.trivy} instead of the ${meta.trivy.containerImage} container`);
  }
  if (meta.kind === 'deploy') notes.push(`deploys to the local ops repo ${ctx.opsRepos[meta.service] ?? '(none)'} instead of ${meta.repo}`);
  return local;
}

function mapCommand(command: StepCommand, step: CommandStep, ctx: LocalRunContext): LocalAction {
  const meta = step.meta;
  const io = {
    ...(command.stdin ? { stdin: command.stdin } : {}),
    ...(command.stdout ? { stdout: command.stdout } : {}),
    deferFailure: command.deferFailure === true,
    once: false,
  };
  const argv = [...command.argv];
  switch (command.role) {
    case 'setup':
      // Installing dependencies is what a fresh agent needs; the local checkout already has them.
      // Other preparation (building the engex-ci bundle) is cheap with the Nx cache: run it once.
      if (isInstall(argv)) return { kind: 'omit', command: argv.join(' '), reason: 'the local checkout is already installed' };
      return { kind: 'exec', argv, ...io, reportsOutcome: false, once: true };
    case 'annotate':
      return readAnnotate(argv, command.stdin, step.key);
    case 'docker-pull':
      return { kind: 'exec', argv: argv.map((a) => swapRegistry(a, meta, ctx)), ...io, reportsOutcome: false };
    case 'trivy': {
      if (meta.kind !== 'scan' || ctx.trivy === undefined) throw new LocalPlanError(`Step ${step.key} runs Trivy without scan metadata.`);
      return { kind: 'exec', argv: [ctx.trivy, ...meta.trivy.args.map((a) => swapRegistry(a, meta, ctx))], ...io, reportsOutcome: false };
    }
    case 'engex-ci': {
      if (meta.kind === 'deploy') {
        const repo = ctx.opsRepos[meta.service];
        if (repo === undefined) throw new LocalPlanError(`No local ops repo for service ${meta.service} (step ${step.key}).`);
        return { kind: 'exec', argv: argv.map((a) => (a === meta.repo ? repo : a)), ...io, reportsOutcome: true };
      }
      return { kind: 'exec', argv, ...io, reportsOutcome: true };
    }
    case 'nx':
    case 'prepare':
    case 'echo':
      return { kind: 'exec', argv, ...io, reportsOutcome: false };
  }
}

function isInstall(argv: readonly string[]): boolean {
  return ['npm', 'pnpm', 'yarn'].includes(argv[0] ?? '') && ['ci', 'install', 'i'].includes(argv[1] ?? '');
}

/** `argv` token that names the ECR image → the same repository and tag on the local registry. */
function swapRegistry(token: string, meta: StepMeta, ctx: LocalRunContext): string {
  if (!('image' in meta)) return token;
  const ecr = `${meta.image.registry}/${meta.image.repository}`;
  return token.startsWith(`${ecr}:`) || token.startsWith(`${ecr}@`) || token === ecr ? `${ctx.registry}/${token.slice(meta.image.registry.length + 1)}` : token;
}

/** Reads `buildkite-agent annotate [body] [--style s] [--context c] [--append]`. */
function readAnnotate(argv: readonly string[], stdin: string | undefined, stepKey: string): LocalAction {
  let style = 'default';
  let context = 'default';
  let append = false;
  let body: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--style') style = argv[++i] ?? style;
    else if (a.startsWith('--style=')) style = a.slice('--style='.length);
    else if (a === '--context') context = argv[++i] ?? context;
    else if (a.startsWith('--context=')) context = a.slice('--context='.length);
    else if (a === '--append') append = true;
    else if (a.startsWith('-')) throw new LocalPlanError(`Step ${stepKey}: unsupported buildkite-agent annotate flag ${a}.`);
    else body = a;
  }
  return { kind: 'annotate', context, style, append, ...(body !== undefined ? { body } : {}), ...(stdin !== undefined ? { bodyFile: stdin } : {}) };
}
