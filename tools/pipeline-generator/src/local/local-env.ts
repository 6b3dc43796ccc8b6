import { legacyBuilderEnv } from '@engex/ci-lib';
import { AGENT_ENV } from './agent-cli.js';

/**
 * A job's environment, as an agent of its queue would have it: a documented allowlist of the
 * caller's variables (where programs, the engine and the home are; nothing else of the caller
 * leaks into a job), the queue's own secrets, the build's `BUILDKITE_*`, then the job's `env`.
 * Pure.
 */

/** The only variables a job takes from the environment of `run --local`. */
export const PASSED_THROUGH = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TERM', 'TMPDIR', 'TZ', 'DOCKER_HOST', 'DOCKER_CONFIG'] as const;

export interface LocalBuild {
  /** The repository the agents clone. */
  workspaceRoot: string;
  /** Full sha of the commit. */
  commit: string;
  /** The branch the pipeline was planned for (`HEAD` when detached). */
  branch: string;
  defaultBranch: string;
  /** The pull request number, or `false`, as BUILDKITE_PULL_REQUEST says it. */
  pullRequest: string;
  registry: string;
  /** NODE_IMAGE of the agent hosts (a base image built locally when there is no Docker Hub). */
  nodeImage?: string;
  /** False when `docker buildx` is absent, i.e. `docker build` needs the legacy builder. */
  buildx: boolean;
  /** Folder of this run (logs, annotations, artifacts, meta-data): the agents' build state. */
  runDir: string;
}

/** Pipeline and organization slug reported by local runs (labels, annotations, cache keys). */
export const LOCAL_PIPELINE_SLUG = 'local';

/**
 * Stable per commit on purpose: the URL is an image label, so a re-run of the same commit must
 * produce the same image (and digest) for the push to be an idempotent no-op.
 */
export function localBuildUrl(commit: string): string {
  return `local://${LOCAL_PIPELINE_SLUG}/${commit}`;
}

/** The agent hooks a queue's agents run, each a script path (the agent's `hooks-path`). */
export type AgentHookName = 'environment' | 'pre-command' | 'pre-exit';

/** What the agents of one queue hold: their secrets and hooks. */
export interface QueueAgents {
  env: Readonly<Record<string, string>>;
  hooks: Readonly<Partial<Record<AgentHookName, string>>>;
  /**
   * Whether these agents may write the shared caches (the dependency-cache bucket, the Nx cache):
   * IAM and the Nx write token on a fleet. False for the untrusted queue: its cache saves are
   * denied, and its Nx cache is the agent's own.
   */
  cacheWrite: boolean;
}

/** The `BUILDKITE_*` variables of the build, as the job that uploads the pipeline sees them (upload-time interpolation). */
export function buildEnv(build: LocalBuild): Record<string, string> {
  return {
    BUILDKITE: 'true',
    CI: 'true',
    BUILDKITE_REPO: build.workspaceRoot,
    BUILDKITE_BRANCH: build.branch,
    BUILDKITE_COMMIT: build.commit,
    BUILDKITE_BUILD_URL: localBuildUrl(build.commit),
    BUILDKITE_PIPELINE_SLUG: LOCAL_PIPELINE_SLUG,
    BUILDKITE_ORGANIZATION_SLUG: LOCAL_PIPELINE_SLUG,
    BUILDKITE_PIPELINE_DEFAULT_BRANCH: build.defaultBranch,
    BUILDKITE_PULL_REQUEST: build.pullRequest,
  };
}

export interface JobEnvInput {
  /** The environment of `run --local`; only `PASSED_THROUGH` is read. */
  caller: Readonly<Record<string, string | undefined>>;
  build: LocalBuild;
  queue: string;
  agents: QueueAgents;
  step: { key: string; label: string; env: Readonly<Record<string, string>> };
  checkout: string;
  /** Folder with the local `buildkite-agent` (and the ECR stand-in), first on PATH. */
  binDir: string;
  /** This job's Nx cache folder (the run's shared one, or the agent's own). */
  nxCacheDir: string;
  /** The npm download cache of this agent (cold), or absent for the machine's (warm). */
  npmCacheDir?: string;
}

export function jobEnv(input: JobEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const v = input.caller[name];
    if (v !== undefined) env[name] = v;
  }
  Object.assign(env, input.agents.env, buildEnv(input.build), {
    BUILDKITE_STEP_KEY: input.step.key,
    BUILDKITE_LABEL: input.step.label,
    BUILDKITE_BUILD_CHECKOUT_PATH: input.checkout,
    BUILDKITE_AGENT_META_DATA_QUEUE: input.queue,
    [AGENT_ENV.state]: input.build.runDir,
    // Agent host configuration, not secrets: where engex-ci pushes (the ECR stand-in), the base
    // image a machine without Docker Hub builds from, Nx without its daemon (as on CI).
    REGISTRY: input.build.registry,
    NX_DAEMON: 'false',
    ...agentNxCacheEnv(input.nxCacheDir),
    ...(input.npmCacheDir !== undefined ? { npm_config_cache: input.npmCacheDir } : {}),
    ...(input.build.nodeImage !== undefined ? { NODE_IMAGE: input.build.nodeImage } : {}),
  });
  Object.assign(env, legacyBuilderEnv(input.caller, input.build.buildx));
  Object.assign(env, input.step.env);
  env['PATH'] = env['PATH'] ? `${input.binDir}:${env['PATH']}` : input.binDir;
  return env;
}

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
