import { DOCKER_HELP, legacyBuilderEnv, probeDocker, type DockerStatus } from '@engex/ci-lib';

export { DOCKER_HELP, probeDocker, type DockerStatus };

export class DockerUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`No Docker engine answers (${reason}). ${DOCKER_HELP}`);
    this.name = this.constructor.name;
  }
}

/** The env for `docker build`: the legacy builder where buildx is missing, unless the caller chose. */
export function dockerBuildEnv(env: NodeJS.ProcessEnv, status: { buildx: boolean }): NodeJS.ProcessEnv {
  return { ...env, ...legacyBuilderEnv(env, status.buildx) };
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
