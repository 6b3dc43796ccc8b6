import type { WorkspaceConfig } from './config.js';
import { ecrHostFor, parseEcrHost, validateRepositoryName, type EcrRegistry } from './ecr.js';
import { InvalidInputError } from './errors.js';
import type { PlannedTags } from './tags.js';

/** Where images go: ECR (auth from AWS), or a plain OCI registry such as a local one (no auth). */
export type RegistryTarget =
  | { kind: 'ecr'; host: string; ecr: EcrRegistry; protocol: 'https' }
  | { kind: 'plain'; host: string; protocol: 'http' | 'https' };

const HOST_PORT = /^(?<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)(?::(?<port>\d{1,5}))?$/;

/** Loopback registries speak plain http, as docker itself allows for 127.0.0.0/8 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name === 'localhost' || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name);
}

/** Validates `REGISTRY=host:port` (the local-run override); http on loopback, https otherwise. */
export function parseRegistryOverride(value: string, subject = 'REGISTRY'): RegistryTarget {
  const match = HOST_PORT.exec(value);
  const port = match?.groups?.['port'];
  if (!match || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
    throw new InvalidInputError(subject, value, 'expected host:port of a plain OCI registry, such as 127.0.0.1:5000');
  }
  return { kind: 'plain', host: value.toLowerCase(), protocol: isLoopbackHost(value) ? 'http' : 'https' };
}

/** The registry of this run: the override when given, else ECR from config. */
export function registryTargetFor(config: Pick<WorkspaceConfig, 'registry'>, override?: string): RegistryTarget {
  if (override !== undefined) return parseRegistryOverride(override);
  const ecr = parseEcrHost(ecrHostFor(config.registry));
  return { kind: 'ecr', host: ecr.host, ecr, protocol: 'https' };
}

/** The environment the seed pipeline exported; kept by name so existing scripts keep working. */
export interface SeedImageEnv {
  VERSION: string;
  ECR_HOST: string;
  REPO_NAME: string;
  IMAGE_LOCAL: string;
  IMAGE_DEST: string;
}

export interface ImageRefs {
  registry: RegistryTarget;
  repository: string;
  /** Tag-less remote name, e.g. 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow. */
  name: string;
  /** `<repository>:<sha>`: what the build tags locally before anything knows the registry. */
  local: string;
  /** `<host>/<repository>:<sha>`: the immutable reference every later step uses. */
  dest: string;
  /** Every tag pushed, primary first. */
  tags: string[];
  env: SeedImageEnv;
}

/** Pure: all image references of one build, and the seed's env, computed in this one place. */
export function planImageRefs(registry: RegistryTarget, repository: string, tags: PlannedTags): ImageRefs {
  validateRepositoryName(repository);
  const name = `${registry.host}/${repository}`;
  const local = `${repository}:${tags.primary}`;
  const dest = `${name}:${tags.primary}`;
  return {
    registry,
    repository,
    name,
    local,
    dest,
    tags: [tags.primary, ...tags.extra],
    env: { VERSION: tags.primary, ECR_HOST: registry.host, REPO_NAME: repository, IMAGE_LOCAL: local, IMAGE_DEST: dest },
  };
}
