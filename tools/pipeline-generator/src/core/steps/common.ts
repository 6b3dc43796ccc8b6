import type { CommandStep, PluginUse, StepCommand } from '../pipeline.js';

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
  /** Restores the installed dependencies on every step that installs (default: `dependencyCachePlugin()`). */
  dependencyCache: PluginUse;
}

/** The fields every command step of a pipeline shares (agents, retry, …). */
export type Common = Pick<CommandStep, 'agents' | 'retry' | 'env' | 'artifactPaths' | 'plugins'>;

export function nxRun(options: PlanOptions, project: string, target: string, args?: readonly string[]): StepCommand {
  return { kind: 'nx', nx: options.nx, project, target, ...(args?.length ? { args } : {}) };
}

/** Buildkite's cache plugin, pinned (github.com/buildkite-plugins/cache-buildkite-plugin). */
export const DEPENDENCY_CACHE_PLUGIN = 'cache#v1.12.0';

/** What the dependency cache saves: only the root's, since npm hoists every package there (test/lockfile.spec.ts). */
export const DEPENDENCY_CACHE_PATH = 'node_modules';

/** Its key: the installed tree is a function of the lockfile alone (`npm ci`). */
export const DEPENDENCY_CACHE_MANIFEST = 'package-lock.json';

/**
 * `node_modules` keyed by the lockfile's hash, in S3. The bucket comes from the agent's
 * environment (`BUILDKITE_PLUGIN_S3_CACHE_BUCKET`), never from the YAML, so a pull request cannot
 * point a build at another bucket. zstd, not tgz: every job restores the archive before its
 * first command, so unpacking speed is on every job's path, and zstd unpacks several times faster
 * than gzip at a smaller size (BENCHMARKS.md); agents need the `zstd` binary (GNU tar ≥ 1.31 uses it).
 */
export function dependencyCachePlugin(): PluginUse {
  return {
    ref: DEPENDENCY_CACHE_PLUGIN,
    config: {
      backend: 's3',
      manifest: DEPENDENCY_CACHE_MANIFEST,
      path: DEPENDENCY_CACHE_PATH,
      restore: 'file',
      save: 'file',
      compression: 'zstd',
    },
  };
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
