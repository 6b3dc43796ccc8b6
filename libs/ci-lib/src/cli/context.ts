import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  findWorkspaceRoot,
  readServiceConfig,
  readWorkspaceConfig,
  registryTargetFor,
  type BuildInfo,
  type RegistryTarget,
  type ServiceConfig,
  type WorkspaceConfig,
} from '@engex/workspace-config';
import { parseBuildContext, type BuildContext } from '../lib/context.js';
import { parseDeadlines, type Deadlines } from '../lib/deadlines.js';
import { createDocker, type Docker } from '../lib/docker.js';
import { createEcrClient, readEcrCredentials, type EcrClientLike, type EcrClientOptions } from '../lib/ecr-credentials.js';
import { UsageError } from '../lib/errors.js';
import { createRegistryClient, type RegistryClient } from '../lib/registry-client.js';
import type { RetryOptions } from '../lib/retry.js';
import { runCommand } from '../lib/run-command.js';
import { assertFullSha } from '../lib/tags.js';

/** Everything a command may touch, injected so tests can capture output and fake AWS. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  now(): Date;
  /** Default: the docker CLI, progress to stderr. */
  docker?: Docker;
  /** Default: the AWS SDK's ECRClient for the region (with the AWS deadline). The one thing tests replace. */
  ecrClient?: (region: string, options: EcrClientOptions) => Promise<EcrClientLike>;
  /** Registry and push retry timing. */
  retry?: Partial<RetryOptions>;
  /** Package version and commit for `--version`; a function so git runs only when asked. */
  build?: () => BuildInfo;
}

/** The ECR API of one region, and what a deadline error names. */
export interface EcrApi {
  client: EcrClientLike;
  call: { deadlineMs: number; host: string };
}

/**
 * What handlers share, built once per invocation around the injected `CliIo`. Each fact is
 * computed on first use, so a command pays only for what it reads (`nx-cache serve` never looks
 * for a workspace) and errors keep the order the handler asks in.
 */
export interface CommandContext {
  readonly io: CliIo;
  readonly env: CliIo['env'];
  now(): Date;
  /** One line on stdout (the command's result). */
  out(text: string): void;
  /** One line on stderr (progress, notes). */
  note(text: string): void;
  /** A file named on the command line, against the caller's cwd. */
  path(file: string): string;
  /** `--workspace`, else the nearest directory at or above cwd with nx.json. */
  root(): string;
  config(): Promise<WorkspaceConfig>;
  /** The Buildkite env and engex-ci's own variables, validated. */
  build(): BuildContext;
  deadlines(): Deadlines;
  /** The engex:service project named `--project` (Nx name or folder name). */
  service(project: string): Promise<ServiceConfig>;
  /** BUILDKITE_COMMIT, or the workspace HEAD when it is unset or `HEAD` (manual builds, local runs). */
  commit(): Promise<string>;
  /** REGISTRY=host:port, else the configured ECR registry, and one client for it. */
  registry(): Promise<{ target: RegistryTarget; client: RegistryClient }>;
  ecr(region: string): Promise<EcrApi>;
  docker(): Docker;
}

function once<T>(compute: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => (cached ??= { value: compute() }).value;
}

function keyed<T>(compute: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, compute(key));
    return cache.get(key)!;
  };
}

/** The ECR API host of a region, named when the AWS call misses its deadline. */
const ecrApiHost = (region: string): string => `api.ecr.${region}.amazonaws.com`;

export function createCommandContext(io: CliIo, workspace: string | undefined): CommandContext {
  const note = (text: string): void => io.stderr(`${text}\n`);
  const root = once((): string => {
    if (workspace === undefined) return findWorkspaceRoot(io.cwd);
    const dir = resolve(io.cwd, workspace);
    if (!existsSync(join(dir, 'nx.json'))) throw new UsageError(`--workspace ${workspace}: no nx.json in ${dir}`);
    return dir;
  });
  const config = once(() => readWorkspaceConfig(root()));
  const build = once(() => parseBuildContext(io.env));
  const deadlines = once(() => parseDeadlines(io.env));
  const service = keyed(async (project) => readServiceConfig(root(), await config(), project));
  const commit = once(async (): Promise<string> => {
    const { commit: given } = build();
    if (given !== undefined && given !== 'HEAD') return assertFullSha(given, 'BUILDKITE_COMMIT');
    const head = await runCommand('git', ['rev-parse', 'HEAD'], { cwd: root(), allowFailure: true }).catch(() => undefined);
    if (!head || head.exitCode !== 0)
      throw new UsageError(`BUILDKITE_COMMIT is ${given ? 'HEAD' : 'not set'} and \`git rev-parse HEAD\` failed in ${root()}; set BUILDKITE_COMMIT to the full sha`);
    return assertFullSha(head.stdout.trim(), 'git rev-parse HEAD');
  });
  const ecr = keyed(async (region): Promise<EcrApi> => {
    const { awsMs } = deadlines();
    // The SDK's own service-endpoint variables, read here from io.env so tests and the CLI agree.
    const endpoint = io.env['AWS_ENDPOINT_URL_ECR'] || io.env['AWS_ENDPOINT_URL'] || undefined;
    const client = await (io.ecrClient ?? createEcrClient)(region, { deadlineMs: awsMs, endpoint });
    return { client, call: { deadlineMs: awsMs, host: endpoint ?? ecrApiHost(region) } };
  });
  const registry = once(async () => {
    const target = build().registry ?? registryTargetFor(await config());
    const client = createRegistryClient({
      registry: target,
      deadlineMs: deadlines().registryMs,
      credentials:
        target.kind === 'ecr'
          ? async () => {
              const { client: api, call } = await ecr(target.ecr.region);
              return readEcrCredentials(api, call);
            }
          : undefined,
      retry: io.retry,
      log: (l) => {
        if (l.startsWith('retrying')) note(`registry: ${l}`);
      },
    });
    return { target, client };
  });
  const docker = once(() => io.docker ?? createDocker({ env: { ...io.env }, onOutput: (t) => io.stderr(t) }));
  return {
    io,
    env: io.env,
    now: () => io.now(),
    out: (text) => io.stdout(`${text}\n`),
    note,
    path: (file) => resolve(io.cwd, file),
    root,
    config,
    build,
    deadlines,
    service,
    commit,
    registry,
    ecr,
    docker,
  };
}
