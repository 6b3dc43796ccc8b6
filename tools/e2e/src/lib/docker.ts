import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type DockerStatus =
  | { available: true; serverVersion: string; buildx: boolean }
  | { available: false; reason: string };

/** How to get a Docker engine on this kind of machine; part of every "no engine" message. */
export const DOCKER_HELP =
  'Start a Docker engine (Debian: `apt-get install docker.io`, then as root ' +
  '`dockerd --storage-driver=vfs --iptables=false --bridge=none &` where overlayfs/iptables are unavailable), ' +
  'or point DOCKER_HOST at one.';

export class DockerUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`No Docker engine answers (${reason}). ${DOCKER_HELP}`);
    this.name = this.constructor.name;
  }
}

/** Asks the engine for its version: the cheapest call that proves the daemon answers. */
export async function probeDocker(env: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<DockerStatus> {
  let serverVersion: string;
  try {
    const { stdout } = await run('docker', ['version', '--format', '{{.Server.Version}}'], { env, timeout: timeoutMs });
    serverVersion = stdout.trim();
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return { available: false, reason: 'the `docker` client is not on PATH' };
    const detail = (e.stderr ?? e.message).trim().split('\n').filter(Boolean).pop() ?? 'no answer';
    return { available: false, reason: `${env['DOCKER_HOST'] ?? 'default socket'}: ${detail}` };
  }
  const buildx = await run('docker', ['buildx', 'version'], { env, timeout: timeoutMs }).then(
    () => true,
    () => false,
  );
  return { available: true, serverVersion, buildx };
}

/**
 * The env for `docker build`: without the buildx plugin a recent client refuses BuildKit builds,
 * so fall back to the legacy builder (the shared Dockerfile supports both) unless the caller chose.
 */
export function dockerBuildEnv(env: NodeJS.ProcessEnv, status: { buildx: boolean }): NodeJS.ProcessEnv {
  if (env['DOCKER_BUILDKIT'] !== undefined || status.buildx) return env;
  return { ...env, DOCKER_BUILDKIT: '0' };
}

/** Polls until the engine answers, e.g. right after starting dockerd. */
export async function waitForDocker(env: NodeJS.ProcessEnv, timeoutMs = 60_000, intervalMs = 500): Promise<DockerStatus & { available: true }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await probeDocker(env, Math.min(10_000, timeoutMs));
    if (status.available) return status;
    if (Date.now() >= deadline) throw new DockerUnavailableError(`${status.reason}; waited ${Math.round(timeoutMs / 1000)}s`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
