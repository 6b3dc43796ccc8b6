import type { ServiceConfig, WorkspaceConfig } from '@engex/workspace-config';
import type { CommandStep, ImageRef, PluginUse, StepCommand } from '../pipeline.js';

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
  /**
   * The checkout-relative bundle `engexCi` runs, self-contained (no node_modules), when this
   * workspace builds engex-ci itself: a service's build job uploads it, and that service's image,
   * scan and deploy jobs download it instead of installing. Absent when engex-ci is installed.
   */
  engexCiBundle?: string;
  /** Step timeouts in minutes; `verifyDeadline` is `deploy verify`'s own deadline (its step gets 5 more). */
  timeouts: { task: number; image: number; scan: number; smoke: number; deploy: number; plan: number; verifyDeadline: number };
  /**
   * Restores the installed dependencies on every step that installs. Absent (the default): the
   * planner derives it from the config and the build's trust zone (`dependencyCachePlugin`).
   */
  dependencyCache?: PluginUse;
}

/** The fields every command step of a pipeline shares (agents, retry, …). */
export type Common = Pick<CommandStep, 'agents' | 'retry' | 'env' | 'artifactPaths' | 'plugins'>;

/** The image steps' extra inputs: the job of the service's build task, if it runs in this build. */
export interface ImageStepInput extends ServiceStepInput {
  /** The key of the job that runs the service's `build` task in this build, if any. */
  buildKey: string | undefined;
  /** The project has a `build` target, so the image step runs it when no build job hands it the bundle. */
  hasBuild: boolean;
  config: Pick<WorkspaceConfig, 'registry' | 'trivy'>;
}

/** What every step of one service is built from: the image, scan, smoke, local image and deploy builders take this. */
export interface ServiceStepInput {
  service: ServiceConfig;
  /** The project's key prefix (`engex-halow`). */
  slug: string;
  /** The image of this build: the service's repository, tagged with the commit. */
  image: ImageRef;
  options: PlanOptions;
  /** The queue, retry and shared fields of the step being built. */
  common: Common;
  /**
   * The service's build job in this build (`step`) and the engex-ci bundle it uploads (`bundle`,
   * `PlanOptions.engexCiBundle`), when it hands this service's steps engex-ci, the service's
   * bundle and its SBOM as artifacts (`withImageInputs`): they then skip the dependency restore,
   * the install and every Nx run.
   */
  engexCiFrom?: EngexCiFrom;
}

/** Where a service's steps download engex-ci from: its build job's key and the bundle's path. */
export interface EngexCiFrom {
  step: string;
  bundle: string;
}

export function nxRun(options: PlanOptions, project: string, target: string): StepCommand {
  return { kind: 'nx', nx: options.nx, project, target };
}

/**
 * What a step that calls engex-ci runs first: engex-ci's bundle from the service's build job, or
 * else the install and engex-ci's own setup; then the report folders it writes to (reports/ is
 * gitignored: a fresh or `git clean`ed checkout has none).
 */
export function engexCiPrelude(input: Pick<ServiceStepInput, 'options' | 'engexCiFrom'>, ...reportDirs: string[]): StepCommand[] {
  const { options, engexCiFrom } = input;
  const engexCi: StepCommand[] = engexCiFrom ? [{ kind: 'artifact-download', path: engexCiFrom.bundle, step: engexCiFrom.step }] : [...options.setup, ...options.engexCiSetup];
  return [...engexCi, ...(reportDirs.length > 0 ? [{ kind: 'exec' as const, argv: ['mkdir', '-p', ...reportDirs] }] : [])];
}

/** A service step that calls engex-ci, as its builder describes it; `serviceEngexCiStep` adds the rest. */
export type ServiceEngexCiStep = Omit<CommandStep, 'type' | 'key' | 'commands' | keyof Common> &
  Partial<Pick<CommandStep, 'plugins' | 'artifactPaths'>> & {
    /** The key after the service's slug: `image` keys the step `engex-halow:image`. */
    job: string;
    /** The report folders the step's engex-ci calls write to; the prelude creates them. */
    reportDirs: readonly string[];
    /** What runs after engex-ci's prelude. */
    commands: readonly StepCommand[];
  };

/**
 * One of a service's engex-ci steps (image, scan, deploy): keyed `<slug>:<job>`, engex-ci's prelude
 * before its own commands, and the build's shared fields (`common`) under the step's own plugins
 * and artifacts, so each builder states only what is its own.
 */
export function serviceEngexCiStep(input: Pick<ServiceStepInput, 'slug' | 'options' | 'common' | 'engexCiFrom'>, step: ServiceEngexCiStep): CommandStep {
  const { job, reportDirs, commands, ...own } = step;
  return { type: 'command', key: `${input.slug}:${job}`, commands: [...engexCiPrelude(input, ...reportDirs), ...commands], ...input.common, ...own };
}

/** Buildkite's cache plugin, pinned (github.com/buildkite-plugins/cache-buildkite-plugin). */
export const DEPENDENCY_CACHE_PLUGIN = 'cache#v1.12.0';

/** What the dependency cache saves: only the root's, since npm hoists every package there (test/lockfile.spec.ts). */
export const DEPENDENCY_CACHE_PATH = 'node_modules';

/** Its key: the installed tree is a function of the lockfile alone (`npm ci`). */
export const DEPENDENCY_CACHE_MANIFEST = 'package-lock.json';

/** What varies the installed tree besides the lockfile: native packages are per OS, CPU and Node ABI. */
export interface DependencyCacheOptions {
  /** `<os>-<arch>` of the agents (config `agents.platform`), e.g. `linux-x64`. */
  platform: string;
  /** The Node major the agents install with, e.g. `24`. */
  nodeMajor: string;
  /**
   * Trusted builds only: an untrusted build restores what trusted builds saved and never writes
   * (a pull request that edits node_modules after install would otherwise poison main, the
   * cache-poisoning class of CVE-2025-36852).
   */
  save: boolean;
}

/**
 * `node_modules` keyed by the lockfile's hash, in S3. The bucket comes from the agent's
 * environment (`BUILDKITE_PLUGIN_S3_CACHE_BUCKET`), never from the YAML, so a pull request cannot
 * point a build at another bucket. zstd, not tgz: every job restores the archive before its
 * first command, so unpacking speed is on every job's path, and zstd unpacks several times faster
 * than gzip at a smaller size (BENCHMARKS.md); agents need the `zstd` binary (GNU tar ≥ 1.31 uses it).
 *
 * cache#v1.12.0 (lib/shared.bash `build_key`) hashes `cache-<level>-<lockfile hash>-<path>-<compression><key-extra>`:
 * `key-extra` is appended verbatim, so it carries the platform and Node major (an arm64 agent or
 * another Node must not restore x64 / Node 24 native packages and skip `npm ci`). `soft-fail`
 * (its `soft_fail_exec`: any non-signal failure of restore or save is a warning and exit 0)
 * turns an S3 or zstd outage into a cache miss: the guarded install then runs `npm ci`.
 */
export function dependencyCachePlugin(options: DependencyCacheOptions): PluginUse {
  return {
    ref: DEPENDENCY_CACHE_PLUGIN,
    config: {
      backend: 's3',
      manifest: DEPENDENCY_CACHE_MANIFEST,
      path: DEPENDENCY_CACHE_PATH,
      restore: 'file',
      ...(options.save ? { save: 'file' } : {}),
      compression: 'zstd',
      'key-extra': dependencyCacheKeyExtra(options),
      'soft-fail': true,
    },
  };
}

/** `-linux-x64-node24`: the leading dash keeps it apart from the compression in the plugin's key text. */
export function dependencyCacheKeyExtra(options: Pick<DependencyCacheOptions, 'platform' | 'nodeMajor'>): string {
  return `-${options.platform}-node${options.nodeMajor}`;
}

/** The Node major of `nodeImage` (`node:24.11.1-alpine3.22` → `24`): agents install with the Node the image runs. */
export function nodeMajorOf(nodeImage: string): string {
  const match = /(?:^|\/)node:(\d+)(?:[.-]|$)/.exec(nodeImage);
  // An image without a Node version tag keys by its whole name: a changed base is a new key.
  return match ? (match[1] as string) : nodeImage.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** Steps share their plugin lists (the same objects): extend each list once, and keep it shared. */
const withCache = new WeakMap<readonly PluginUse[], Map<PluginUse, readonly PluginUse[]>>();

/**
 * The step with the dependency cache first among its plugins when it installs: the restore runs
 * before the commands, so the guarded install (core/shell.ts) finds node_modules and skips `npm ci`.
 */
export function withDependencyCache<S extends CommandStep>(step: S, cache: PluginUse): S {
  if (!step.commands.some((c) => c.kind === 'install') || step.plugins.includes(cache)) return step;
  let byCache = withCache.get(step.plugins);
  if (!byCache) withCache.set(step.plugins, (byCache = new Map()));
  let plugins = byCache.get(cache);
  if (!plugins) byCache.set(cache, (plugins = [cache, ...step.plugins]));
  return { ...step, plugins };
}
