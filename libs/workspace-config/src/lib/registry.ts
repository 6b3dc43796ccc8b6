import { ecrHostFor, parseEcrHost, type EcrRegistry } from './ecr.js';
import { InvalidInputError } from './errors.js';

/** Where images go: ECR (auth from AWS), or a plain OCI registry such as a local one (no auth). */
export type RegistryTarget = { kind: 'ecr'; host: string; ecr: EcrRegistry; protocol: 'https' } | { kind: 'plain'; host: string; protocol: 'http' | 'https' };

/** The part of the workspace config that names the registry. */
export interface RegistryConfig {
  account: string;
  region: string;
}

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
export function registryTargetFor(config: { registry: RegistryConfig }, override?: string): RegistryTarget {
  if (override !== undefined) return parseRegistryOverride(override);
  const ecr = parseEcrHost(ecrHostFor(config.registry));
  return { kind: 'ecr', host: ecr.host, ecr, protocol: 'https' };
}

/**
 * The tag-less ECR image name of a repository, e.g.
 * `460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow`: what the pipeline, `engex-ci image`
 * and the deploy bump all write, so every partition gets the same host.
 */
export function ecrImageName(registry: RegistryConfig, repository: string): string {
  return `${ecrHostFor(registry)}/${repository}`;
}
