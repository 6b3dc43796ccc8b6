import type { BlockStep, CommandStep, ImageRef, Pipeline, StepCommand, StepMeta } from '../core/pipeline.js';
import { INSTALL_MARKER, imageReference, invocation, trivyArgs, type Invocation } from '../core/shell.js';
import { LocalPlanError } from '../core/errors.js';
import { stableOrder } from '../core/graph.js';

export { LocalPlanError } from '../core/errors.js';
import { allSteps } from '../core/pipeline.js';

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
  /**
   * Each step runs as on an ephemeral agent: a fresh clone without node_modules, so it installs
   * (or restores the dependency cache), prepares its own tools and downloads its artifacts.
   * Absent: every step runs in the local checkout, which is installed already.
   */
  freshAgents?: boolean;
}

/** What the cache plugin saves and restores, read from its configuration (`file` level only). */
export interface LocalCache {
  /** Checkout-relative folder, e.g. `node_modules`. */
  path: string;
  /** Checkout-relative files whose content is the key, e.g. `package-lock.json`. */
  manifest: string[];
  restore: boolean;
  save: boolean;
  /** The plugin's `compression`: `zstd`, `tgz` or `none`. */
  compression: string;
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
      /** On failure, write this file as an error annotation (e.g. the ECR preflight's report). */
      annotateOnFailure?: { context: string; file: string };
    }
  /** `buildkite-agent annotate`, written to the run folder instead. */
  | { kind: 'annotate'; context: string; style: string; append: boolean; body?: string; bodyFile?: string }
  /** A command with no local meaning, e.g. the agent's `npm ci` in a checkout that is ready. */
  | { kind: 'omit'; command: string; reason: string }
  /** The guarded install (core/shell.ts): runs `argv` unless the checkout-relative `marker` exists. */
  | { kind: 'install'; argv: string[]; marker: string }
  /** `buildkite-agent artifact download` from the run's artifact store into the fresh checkout. */
  | { kind: 'artifact-download'; path: string; step: string }
  /**
   * `deploy verify` against the pushed image: the runner starts it on a free port (as the smoke
   * step does) and runs `argv` with `--url http://127.0.0.1:<port>` appended; ArgoCD cannot run here.
   */
  | { kind: 'verify'; image: string; argv: string[] }
  /** `buildkite-agent meta-data`, against a file-backed store in the run folder. */
  | { kind: 'meta-data'; op: 'set' | 'get'; key: string; file: string };

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
  /** A block step: its prompt. It waits for approval (`--approve`), and has no actions. */
  block?: string;
  /** Fresh agents: the cache plugin's restore before the actions and save after they passed. */
  cache?: LocalCache;
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

const ECR_PLUGIN = /^(ecr|buildkite-plugins\/ecr)#/;
const DOCKER_PLUGIN = /^(docker|buildkite-plugins\/docker)#/;
/** Uploads JUnit to Test Engine after the command: nothing to emulate, the step still runs here. */
const TEST_COLLECTOR_PLUGIN = /^(test-collector|buildkite-plugins\/test-collector)#/;
const CACHE_PLUGIN = /^(cache|buildkite-plugins\/cache)#/;

/** The cache plugin's configuration as a local cache, or why it cannot be emulated here. */
export function readCachePlugin(config: Readonly<Record<string, unknown>>): LocalCache | string {
  const problems: string[] = [];
  const path = config['path'];
  if (typeof path !== 'string' || path === '') problems.push(`path: expected a folder, got ${JSON.stringify(path)}`);
  const raw = config['manifest'];
  const manifest = typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.every((m) => typeof m === 'string') ? (raw as string[]) : [];
  if (manifest.length === 0) problems.push(`manifest: expected a file or a list of files, got ${JSON.stringify(raw)}`);
  const level = (key: 'restore' | 'save'): boolean => {
    const v = config[key];
    if (v === undefined) return false;
    if (v === 'file' || (Array.isArray(v) && v.length === 1 && v[0] === 'file')) return true;
    problems.push(`${key}: only the file level is emulated locally, got ${JSON.stringify(v)}`);
    return false;
  };
  const restore = level('restore');
  const save = level('save');
  const compression = config['compression'] ?? 'none';
  if (typeof compression !== 'string' || !['none', 'tgz', 'zstd'].includes(compression))
    problems.push(`compression: expected none, tgz or zstd, got ${JSON.stringify(compression)}`);
  if (problems.length > 0) return problems.join('; ');
  return { path: path as string, manifest, restore, save, compression: compression as string };
}

export function planLocalRun(pipeline: Pick<Pipeline, 'steps' | 'notify'>, ctx: LocalRunContext): LocalRunPlan {
  const steps = allSteps(pipeline);
  const groups = new Map<string, string[]>();
  for (const s of pipeline.steps)
    if (s.type === 'group')
      groups.set(
        s.key,
        s.steps.map((c) => c.key),
      );
  const mapped = steps.map((step) => (step.type === 'block' ? mapBlock(step, groups) : mapStep(step, groups, ctx)));
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

function mapBlock(step: BlockStep, groups: ReadonlyMap<string, string[]>): LocalStep {
  return {
    key: step.key,
    label: step.label,
    dependsOn: [...new Set(step.dependsOn.flatMap((d) => groups.get(d) ?? [d]))],
    timeoutMs: 0,
    env: {},
    actions: [],
    notes: [],
    artifactPaths: [],
    meta: step.meta,
    block: step.prompt,
  };
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
  const unknownPlugin = step.plugins.find((p) => ![ECR_PLUGIN, DOCKER_PLUGIN, TEST_COLLECTOR_PLUGIN, CACHE_PLUGIN].some((re) => re.test(p.ref)));
  if (unknownPlugin) {
    local.skip = `plugin ${unknownPlugin.ref} has no local equivalent`;
    return local;
  }
  const cachePlugin = step.plugins.find((p) => CACHE_PLUGIN.test(p.ref));
  if (cachePlugin) {
    const cache = readCachePlugin(cachePlugin.config);
    if (typeof cache === 'string') {
      local.skip = `plugin ${cachePlugin.ref}: ${cache}`;
      return local;
    }
    if (ctx.freshAgents) {
      local.cache = cache;
      notes.push(`${cachePlugin.ref}: ${cache.path} keyed by ${cache.manifest.join(', ')}, from the local dependency cache`);
    } else {
      notes.push(`${cachePlugin.ref} not used: the local checkout is already installed`);
    }
  }
  if (step.plugins.some((p) => ECR_PLUGIN.test(p.ref))) notes.push(`ECR login skipped: pushing to the local registry ${ctx.registry}`);
  if (step.plugins.some((p) => TEST_COLLECTOR_PLUGIN.test(p.ref))) notes.push(`Test Engine upload skipped (Buildkite only): the JUnit report stays in this run's artifacts`);

  const meta = step.meta;
  if (meta.kind === 'scan' && ctx.trivy === undefined) {
    local.skip = `trivy is not on PATH: install Trivy ${meta.trivy.version} (https://trivy.dev) to scan locally; not scanned, not passed: neither the image (OS/runtime) nor its SBOM (bundled npm packages; the image step wrote and schema-validated it)`;
    return local;
  }
  for (const command of step.commands) local.actions.push(mapCommand(command, step, ctx));
  if (meta.kind === 'scan' && step.plugins.some((p) => DOCKER_PLUGIN.test(p.ref))) {
    notes.push(`Trivy runs from ${ctx.trivy} instead of the ${meta.trivy.containerImage} container`);
  }
  if (meta.kind === 'deploy') notes.push(`deploys to the local ops repo ${ctx.opsRepos[meta.service] ?? '(none)'} instead of ${meta.repo}`);
  if (meta.kind === 'verify') notes.push(`verifies the pushed image run here on a free port instead of ${meta.url} (no ArgoCD)`);
  return local;
}

function mapCommand(command: StepCommand, step: CommandStep, ctx: LocalRunContext): LocalAction {
  const exec = (run: Invocation, flags: { reportsOutcome?: boolean; deferFailure?: boolean; once?: boolean } = {}): LocalAction => ({
    kind: 'exec',
    argv: [...run.argv],
    ...(run.stdin ? { stdin: run.stdin } : {}),
    ...(run.stdout ? { stdout: run.stdout } : {}),
    deferFailure: flags.deferFailure === true,
    once: flags.once === true,
    reportsOutcome: flags.reportsOutcome === true,
  });
  // The local registry stands in for ECR: same repository and tag.
  const local = (image: ImageRef): ImageRef => ({ ...image, registry: ctx.registry });
  switch (command.kind) {
    case 'install':
      // Installing dependencies is what a fresh agent needs; the local checkout already has them.
      if (ctx.freshAgents) return { kind: 'install', argv: [...invocation(command).argv], marker: INSTALL_MARKER };
      return { kind: 'omit', command: invocation(command).argv.join(' '), reason: 'the local checkout is already installed' };
    case 'nx':
      // Other preparation (building the engex-ci bundle) is cheap with the Nx cache: run it once.
      // A fresh agent has nothing another step prepared: it runs its own (an Nx cache hit).
      return exec(invocation(command), { once: command.setup === true && ctx.freshAgents !== true, deferFailure: command.deferFailure === true });
    case 'nx-run-many':
      return exec(invocation(command), { deferFailure: command.deferFailure === true });
    case 'annotate':
      return {
        kind: 'annotate',
        context: command.context,
        style: command.style,
        append: command.append === true,
        ...(command.body !== undefined ? { body: command.body } : {}),
        ...(command.bodyFile !== undefined ? { bodyFile: command.bodyFile } : {}),
      };
    case 'pull':
      return exec(invocation({ ...command, image: local(command.image) }));
    case 'artifact-download':
      if (ctx.freshAgents) return { kind: 'artifact-download', path: command.path, step: command.step };
      // The image step wrote the file into this same checkout: nothing to fetch.
      return { kind: 'omit', command: invocation(command).argv.join(' '), reason: `the image step wrote ${command.path} in this checkout` };
    case 'trivy': {
      if (ctx.trivy === undefined) throw new LocalPlanError(`Step ${step.key} runs Trivy, but no local trivy was given.`);
      const target = command.target === 'image' ? { ...command, image: local(command.image) } : command;
      return exec({ argv: [ctx.trivy, ...trivyArgs(target)], stdout: command.report });
    }
    case 'engex-ci': {
      const flags = { reportsOutcome: true, deferFailure: command.deferFailure === true };
      if (command.annotateOnFailure) return { ...(exec(invocation(command), flags) as Extract<LocalAction, { kind: 'exec' }>), annotateOnFailure: command.annotateOnFailure };
      if (command.call.command === 'deploy verify') {
        const { argocdServer: _server, argocdApp: _app, opsCommitFile: _opsCommit, ...call } = command.call;
        const argv = invocation({ ...command, call: { ...call, url: 'LOCAL' } }).argv;
        // The URL is the container's, known only when it runs: the runner appends it last.
        const i = argv.indexOf('--url');
        const meta = step.meta;
        if (meta.kind !== 'verify') throw new LocalPlanError(`Step ${step.key} runs deploy verify but is not a verify step.`);
        return { kind: 'verify', image: imageReference(local(meta.image)), argv: [...argv.slice(0, i), ...argv.slice(i + 2)] };
      }
      if (command.call.command !== 'deploy bump') return exec(invocation(command), flags);
      const meta = step.meta;
      const repo = meta.kind === 'deploy' ? ctx.opsRepos[meta.service] : undefined;
      if (repo === undefined) throw new LocalPlanError(`No local ops repo for the deploy bump of step ${step.key}.`);
      return exec(invocation({ ...command, call: { ...command.call, repo } }), flags);
    }
    case 'meta-data':
      return { kind: 'meta-data', op: command.op, key: command.key, file: command.file };
    case 'exec':
      return exec(invocation(command));
  }
}
