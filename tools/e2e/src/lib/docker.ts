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
