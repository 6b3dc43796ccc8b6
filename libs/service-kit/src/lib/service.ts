import type { FastifyPluginAsync } from 'fastify';
import { ServiceDefinitionError } from './errors.js';

/** What makes one service different from its siblings; everything else comes from the kit. */
export interface ServiceDefinition {
  /** Service name (its apps/<name> folder): the `service` field on every log line. */
  name: string;
  /** Port used when PORT is unset; the same as `nx.metadata.engex.port` in its package.json. */
  defaultPort: number;
  /** The service's own routes. Registered after the shared ones, so they cannot shadow them. */
  routes: FastifyPluginAsync;
}

const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** Checks a definition once, where it is written, so mistakes fail at startup and in tests. */
export function defineService(definition: ServiceDefinition): ServiceDefinition {
  if (!NAME_PATTERN.test(definition.name)) {
    throw new ServiceDefinitionError(`Service name ${JSON.stringify(definition.name)} is invalid: use lowercase letters, digits and dashes, starting with a letter.`);
  }
  if (!Number.isInteger(definition.defaultPort) || definition.defaultPort < 1 || definition.defaultPort > 65_535) {
    throw new ServiceDefinitionError(`Service ${definition.name}: defaultPort ${definition.defaultPort} is invalid: use an integer from 1 to 65535.`);
  }
  return definition;
}
