import type { ServiceConfig } from '@engex/workspace-config';
import type { ImageRefs } from './image-ref.js';
import { legacyBuilderEnv } from './docker-probe.js';
import { renderBuildArgs, renderLabelArgs, type ImageMetadata } from './labels.js';

/** The one shared Dockerfile, relative to the workspace root (the build context). */
export const DOCKERFILE = 'docker/Dockerfile';

export interface DockerBuildPlan {
  /** Arguments after `docker build`. */
  args: string[];
  /** Extra environment for the docker process. */
  env: Record<string, string>;
}

export interface PlanDockerBuildInputs {
  /** Absolute workspace root: the build context. */
  root: string;
  service: Pick<ServiceConfig, 'service' | 'port'>;
  refs: ImageRefs;
  metadata: ImageMetadata;
  /** The Dockerfile's NODE_IMAGE. */
  nodeImage: string;
  /** DOCKER_BUILDKIT from the caller's environment, if set. */
  dockerBuildkit?: string;
  buildxAvailable: boolean;
}

/**
 * Pure: the docker build command line. Every tag is applied at build time so that push only
 * pushes; the labels go both to `--label` (authoritative, computed here) and, through the build
 * args, to the Dockerfile's own LABEL/ENV lines that /version reads.
 */
export function planDockerBuild(inputs: PlanDockerBuildInputs): DockerBuildPlan {
  const args = [
    '--file',
    `${inputs.root}/${DOCKERFILE}`,
    ...renderBuildArgs({
      NODE_IMAGE: inputs.nodeImage,
      APP: inputs.service.service,
      PORT: String(inputs.service.port),
      ...inputs.metadata.buildArgs,
    }),
    // Labels only, no `--annotation manifest:`: `docker push` sends a manifest the engine builds
    // from its image store, which keeps no annotations (see the README, Tags and labels).
    ...renderLabelArgs(inputs.metadata.labels),
    '--tag',
    inputs.refs.local,
    ...inputs.refs.tags.flatMap((tag) => ['--tag', `${inputs.refs.name}:${tag}`]),
    inputs.root,
  ];
  const env = legacyBuilderEnv({ DOCKER_BUILDKIT: inputs.dockerBuildkit }, inputs.buildxAvailable);
  return { args, env };
}

/** `12.3 MB` style sizes for humans; the exact byte count is printed beside it. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
