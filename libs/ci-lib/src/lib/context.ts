import {
  ConfigError,
  ENV_HINT,
  Issues,
  collectBuildkiteEnv,
  describeValue as describe,
  parseRegistryOverride,
  readEnv,
  type BuildkiteEnv,
  type Env,
  type RegistryTarget,
} from '@engex/workspace-config';
import { resolveCreated } from './labels.js';

/** Everything engex-ci reads from the environment, parsed once at the CLI edge. */
export interface BuildContext extends BuildkiteEnv {
  /** SOURCE_DATE_EPOCH, validated. */
  sourceDateEpoch?: string;
  /** REGISTRY=host:port: a plain registry instead of ECR (local runs and tests). */
  registry?: RegistryTarget;
  /** NODE_IMAGE: the Dockerfile's base image instead of config.nodeImage. */
  nodeImage?: string;
}

/** The variables `parseBuildContext` reads, for help texts. */
export const CONTEXT_ENV = [
  'BUILDKITE_COMMIT',
  'BUILDKITE_BRANCH',
  'BUILDKITE_BUILD_URL',
  'BUILDKITE_BUILD_NUMBER',
  'BUILDKITE_PIPELINE_SLUG',
  'BUILDKITE_PULL_REQUEST',
  'BUILDKITE_TAG',
  'SOURCE_DATE_EPOCH',
  'REGISTRY',
  'NODE_IMAGE',
] as const;

/**
 * Pure: the Buildkite variables (through the shared parser) plus engex-ci's own; every bad
 * variable of both is reported at once. Empty values count as unset.
 */
export function parseBuildContext(env: Env): BuildContext {
  const issues = new Issues('environment');
  const ctx: BuildContext = collectBuildkiteEnv(env, issues);
  const sde = readEnv(env, 'SOURCE_DATE_EPOCH');
  if (sde !== undefined) {
    try {
      resolveCreated(new Date(0), sde);
      ctx.sourceDateEpoch = sde;
    } catch {
      issues.add('SOURCE_DATE_EPOCH', `expected whole seconds since 1970-01-01 UTC, got ${describe(sde)}`);
    }
  }
  const registry = readEnv(env, 'REGISTRY');
  if (registry !== undefined) {
    try {
      ctx.registry = parseRegistryOverride(registry);
    } catch {
      issues.add('REGISTRY', `expected host:port of a plain OCI registry, such as 127.0.0.1:5000, got ${describe(registry)}`);
    }
  }
  const nodeImage = readEnv(env, 'NODE_IMAGE');
  if (nodeImage !== undefined) {
    if (/^[a-z0-9][a-z0-9./_:@-]*$/.test(nodeImage)) ctx.nodeImage = nodeImage;
    else issues.add('NODE_IMAGE', `expected an image reference such as node:24.11.1-alpine3.22, got ${describe(nodeImage)}`);
  }
  if (issues.list.length > 0) throw new ConfigError(issues.list, { hint: ENV_HINT });
  return ctx;
}
