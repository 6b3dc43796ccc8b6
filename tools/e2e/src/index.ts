export { DOCKER_HELP, DockerUnavailableError, dockerBuildEnv, probeDocker, type DockerStatus } from './lib/docker.js';
export { LocalBaseError, buildLocalBase, type BuildLocalBaseOptions, type LocalBaseResult } from './lib/local-base.js';
export { LOCAL_BASE_REPOSITORY, LddParseError, NODE_USER, localBaseTag, parseLdd, planLocalBase, type LocalBaseInput, type LocalBasePlan } from './lib/local-base-plan.js';
