import { validateRepositoryName, type RegistryTarget } from '@engex/workspace-config';
import type { PlannedTags } from './tags.js';

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
}

/** Pure: all image references of one build, computed in this one place. */
export function planImageRefs(registry: RegistryTarget, repository: string, tags: PlannedTags): ImageRefs {
  validateRepositoryName(repository);
  const name = `${registry.host}/${repository}`;
  const local = `${repository}:${tags.primary}`;
  const dest = `${name}:${tags.primary}`;
  return { registry, repository, name, local, dest, tags: [tags.primary, ...tags.extra] };
}
