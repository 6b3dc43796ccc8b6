import { InfrastructureError } from './errors.js';
import { buildxAvailable } from './docker-probe.js';
import { runCommand } from './run-command.js';
import { isRecord } from '@engex/workspace-config';

export interface LocalImage {
  /** Image id = config digest, e.g. sha256:64401d... */
  id: string;
  /** Uncompressed size in bytes. */
  size: number;
  repoDigests: string[];
  os: string;
  architecture: string;
  labels: Record<string, string>;
}

/** The docker CLI operations engex-ci needs, each one argument array. */
export interface Docker {
  build(args: readonly string[], env: Readonly<Record<string, string>>): Promise<void>;
  inspectImage(ref: string): Promise<LocalImage | undefined>;
  tag(source: string, target: string): Promise<void>;
  /** Returns the manifest digest docker reports, when it reports one. */
  push(ref: string): Promise<{ digest?: string }>;
  pull(ref: string): Promise<void>;
  /** `docker run -d ...`; returns the container id. */
  runDetached(args: readonly string[]): Promise<string>;
  isRunning(container: string): Promise<boolean>;
  logs(container: string): Promise<string>;
  removeContainer(container: string): Promise<void>;
  removeImage(ref: string): Promise<void>;
  buildxAvailable(): Promise<boolean>;
}

export interface DockerOptions {
  /** Default `docker`. */
  binary?: string;
  /** Environment of every docker process (DOCKER_HOST, DOCKER_CONFIG...). Default: inherited. */
  env?: NodeJS.ProcessEnv;
  /** Live build/push/pull output; engex-ci sends it to stderr. */
  onOutput?: (text: string) => void;
}

/** Parses `docker image inspect` JSON; undefined when the image is not there. */
export function parseImageInspect(json: string): LocalImage | undefined {
  const parsed: unknown = JSON.parse(json);
  const first = Array.isArray(parsed) ? parsed[0] : undefined;
  if (!isRecord(first) || typeof first['Id'] !== 'string') return undefined;
  const config = isRecord(first['Config']) ? first['Config'] : {};
  const labels = isRecord(config['Labels']) ? config['Labels'] : {};
  return {
    id: first['Id'],
    size: typeof first['Size'] === 'number' ? first['Size'] : 0,
    repoDigests: Array.isArray(first['RepoDigests']) ? first['RepoDigests'].filter((d): d is string => typeof d === 'string') : [],
    os: typeof first['Os'] === 'string' ? first['Os'] : 'linux',
    architecture: typeof first['Architecture'] === 'string' ? first['Architecture'] : 'amd64',
    labels: Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === 'string')),
  };
}

/** `<tag>: digest: sha256:... size: 524` is the last line of a successful `docker push`. */
export function parsePushDigest(output: string): string | undefined {
  return /digest: (sha256:[0-9a-f]{64})/.exec(output)?.[1];
}

export function createDocker(options: DockerOptions = {}): Docker {
  const binary = options.binary ?? 'docker';
  const env = options.env ?? process.env;
  const run = (args: readonly string[], extra: { onOutput?: (t: string) => void; allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {}) =>
    runCommand(binary, args, { env: extra.env ?? env, ...extra });

  return {
    async build(args, buildEnv) {
      await run(['build', ...args], { env: { ...env, ...buildEnv }, onOutput: options.onOutput });
    },
    async inspectImage(ref) {
      const result = await run(['image', 'inspect', ref], { allowFailure: true });
      if (result.exitCode !== 0) {
        if (/no such image/i.test(result.stderr)) return undefined;
        throw new InfrastructureError(`docker image inspect ${ref} failed: ${result.stderr.trim()}`);
      }
      return parseImageInspect(result.stdout);
    },
    async tag(source, target) {
      await run(['tag', source, target]);
    },
    async push(ref) {
      const result = await run(['push', ref], { onOutput: options.onOutput });
      const digest = parsePushDigest(result.stdout);
      return digest ? { digest } : {};
    },
    async pull(ref) {
      await run(['pull', ref], { onOutput: options.onOutput });
    },
    async runDetached(args) {
      const result = await run(['run', '-d', ...args]);
      return result.stdout.trim().split('\n').pop() ?? '';
    },
    async isRunning(container) {
      const result = await run(['inspect', '--format', '{{.State.Running}}', container], { allowFailure: true });
      return result.exitCode === 0 && result.stdout.trim() === 'true';
    },
    async logs(container) {
      const result = await run(['logs', '--tail', '50', container], { allowFailure: true });
      return `${result.stdout}${result.stderr}`;
    },
    async removeContainer(container) {
      await run(['rm', '--force', '--volumes', container], { allowFailure: true });
    },
    async removeImage(ref) {
      await run(['image', 'rm', '--force', ref], { allowFailure: true });
    },
    async buildxAvailable() {
      return buildxAvailable(env, 15_000, binary);
    },
  };
}
