import { legacyBuilderEnv } from '@engex/ci-lib';
/**
 * The environment of a local step: the caller's env, then what a Buildkite agent would set, then
 * the local overrides, then the step's own env. Pure.
 */

export interface LocalBuild {
  workspaceRoot: string;
  /** Full sha of HEAD. */
  commit: string;
  /** The checked-out branch (`HEAD` when detached). */
  branch: string;
  defaultBranch: string;
  /** Committer time of HEAD in Unix seconds: SOURCE_DATE_EPOCH, so a re-run builds the same image. */
  commitTime: string;
  registry: string;
  /** NODE_IMAGE override for the shared Dockerfile; absent: the configured default. */
  nodeImage?: string;
  /** False when `docker buildx` is absent, i.e. `docker build` needs the legacy builder. */
  buildx: boolean;
  /** Folder of this run (logs, annotations, artifacts). */
  runDir: string;
}

/** Pipeline slug reported by local runs (labels, annotations). */
export const LOCAL_PIPELINE_SLUG = 'local';

/**
 * Stable per commit on purpose: the URL is an image label, so a re-run of the same commit must
 * produce the same image (and digest) for the push to be an idempotent no-op.
 */
export function localBuildUrl(commit: string): string {
  return `local://${LOCAL_PIPELINE_SLUG}/${commit}`;
}

export function buildStepEnv(
  base: Readonly<Record<string, string | undefined>>,
  build: LocalBuild,
  step: { key: string; label: string; env: Readonly<Record<string, string>> },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    // A local run inside a Buildkite job must not inherit that job's identity.
    if (v !== undefined && !k.startsWith('BUILDKITE')) env[k] = v;
  }
  const bin = `${build.workspaceRoot}/node_modules/.bin`;
  Object.assign(env, {
    CI: 'true',
    BUILDKITE_BRANCH: build.branch,
    BUILDKITE_COMMIT: build.commit,
    BUILDKITE_BUILD_URL: localBuildUrl(build.commit),
    BUILDKITE_PIPELINE_SLUG: LOCAL_PIPELINE_SLUG,
    BUILDKITE_PIPELINE_DEFAULT_BRANCH: build.defaultBranch,
    BUILDKITE_PULL_REQUEST: 'false',
    BUILDKITE_STEP_KEY: step.key,
    BUILDKITE_LABEL: step.label,
    BUILDKITE_BUILD_CHECKOUT_PATH: build.workspaceRoot,
    ENGEX_LOCAL_RUN_DIR: build.runDir,
    REGISTRY: build.registry,
    NX_DAEMON: base['NX_DAEMON'] ?? 'false',
    SOURCE_DATE_EPOCH: base['SOURCE_DATE_EPOCH'] ?? build.commitTime,
    PATH: base['PATH'] ? `${bin}:${base['PATH']}` : bin,
  });
  if (build.nodeImage !== undefined) env['NODE_IMAGE'] = build.nodeImage;
  Object.assign(env, legacyBuilderEnv(base, build.buildx));
  Object.assign(env, step.env);
  return env;
}

/** How fresh agents share Nx task results: a folder every agent reads and writes, or none. */
export type AgentNxCache = { kind: 'directory'; dir: string } | { kind: 'off' };

/**
 * The one place a fresh agent's Nx cache is configured: the folder it reads and writes. Locally a
 * shared folder is the remote cache. Nx 23 indexes its cache in a database under the
 * workspace-data directory and trusts only artifacts that database recorded: a shared
 * `NX_CACHE_DIRECTORY` alone is never read by another clone (every task reruns), so the database
 * moves with it. Without either variable Nx shares one cache per user and workspace
 * (`~/.nx/<workspace id>`) between every clone, so an agent without a shared cache still gets a
 * folder of its own. An Nx remote-cache server would set `NX_SELF_HOSTED_REMOTE_CACHE_SERVER`
 * here instead.
 */
export function agentNxCacheEnv(dir: string): Record<string, string> {
  return { NX_CACHE_DIRECTORY: `${dir}/cache`, NX_WORKSPACE_DATA_DIRECTORY: `${dir}/workspace-data` };
}

export interface FreshAgentEnvOptions {
  /** The Nx cache folder of this agent: the run's shared one, or (`off`) one of its own. */
  nxCacheDir: string;
  /** The npm download cache of this agent: a folder of its own (cold), or absent for the machine's (warm). */
  npmCacheDir?: string;
}

/**
 * A fresh agent's environment from the caller's: nothing that ties it to the caller's checkout or
 * run. `npm run` exports `npm_*` (its prefix and config: an `npm ci` would act on the caller's
 * workspace), Nx settings point at the caller's cache, and `ENGEX_REQUIRE` is the caller's
 * contract, not an agent's: a Buildkite agent has no `../shared`, and the tests skip without it.
 */
export function freshAgentEnv(base: Readonly<Record<string, string | undefined>>, options: FreshAgentEnvOptions): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(base)) {
    if (/^(npm_|NX_|ENGEX_REQUIRE$|INIT_CWD$)/i.test(k) && k !== 'NX_DAEMON') continue;
    env[k] = v;
  }
  Object.assign(env, agentNxCacheEnv(options.nxCacheDir));
  if (options.npmCacheDir !== undefined) env['npm_config_cache'] = options.npmCacheDir;
  return env;
}
