import { ConfigError } from './errors.js';
import { parseRegistryOverride, type RegistryTarget } from './image-ref.js';
import { resolveCreated } from './labels.js';
import { Issues, describe } from './validate.js';

/** Everything engex-ci reads from the environment, parsed once at the CLI edge. */
export interface BuildContext {
  /** BUILDKITE_COMMIT as given (may be `HEAD`; commands that need a sha validate it). */
  commit?: string;
  branch?: string;
  buildUrl?: string;
  buildNumber?: number;
  pipelineSlug?: string;
  /** BUILDKITE_PULL_REQUEST; undefined for `false` or unset. */
  pullRequest?: number;
  gitTag?: string;
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

type Env = Readonly<Record<string, string | undefined>>;

/** Pure: validates the env; every bad variable is reported at once. Empty values count as unset. */
export function parseBuildContext(env: Env): BuildContext {
  const issues = new Issues('environment');
  const get = (key: (typeof CONTEXT_ENV)[number]): string | undefined => {
    const value = env[key];
    return value === undefined || value === '' ? undefined : value;
  };
  const ctx: BuildContext = {};
  const check = (key: (typeof CONTEXT_ENV)[number], pattern: RegExp, expected: string): string | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    if (pattern.test(value)) return value;
    issues.add(key, `expected ${expected}, got ${describe(value)}`);
    return undefined;
  };

  ctx.commit = check('BUILDKITE_COMMIT', /^([0-9a-f]{40}|HEAD)$/, 'a full 40-character lowercase commit sha (or HEAD)');
  ctx.branch = get('BUILDKITE_BRANCH');
  ctx.buildUrl = check('BUILDKITE_BUILD_URL', /^(https?|local):\/\/[^\s]+$/, 'an http(s):// or local:// URL');
  const buildNumber = check('BUILDKITE_BUILD_NUMBER', /^\d{1,12}$/, 'a build number');
  if (buildNumber !== undefined) ctx.buildNumber = Number(buildNumber);
  ctx.pipelineSlug = check('BUILDKITE_PIPELINE_SLUG', /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'a pipeline slug');
  const pr = get('BUILDKITE_PULL_REQUEST');
  if (pr !== undefined && pr !== 'false') {
    if (/^[1-9]\d{0,9}$/.test(pr)) ctx.pullRequest = Number(pr);
    else issues.add('BUILDKITE_PULL_REQUEST', `expected a pull request number or false, got ${describe(pr)}`);
  }
  ctx.gitTag = get('BUILDKITE_TAG');
  const sde = get('SOURCE_DATE_EPOCH');
  if (sde !== undefined) {
    try {
      resolveCreated(new Date(0), sde);
      ctx.sourceDateEpoch = sde;
    } catch {
      issues.add('SOURCE_DATE_EPOCH', `expected whole seconds since 1970-01-01 UTC, got ${describe(sde)}`);
    }
  }
  const registry = get('REGISTRY');
  if (registry !== undefined) {
    try {
      ctx.registry = parseRegistryOverride(registry);
    } catch {
      issues.add('REGISTRY', `expected host:port of a plain OCI registry, such as 127.0.0.1:5000, got ${describe(registry)}`);
    }
  }
  ctx.nodeImage = check('NODE_IMAGE', /^[a-z0-9][a-z0-9./_:@-]*$/, 'an image reference such as node:24.11.1-alpine3.22');

  if (issues.list.length > 0) throw new ConfigError(issues.list);
  for (const key of Object.keys(ctx) as (keyof BuildContext)[]) if (ctx[key] === undefined) delete ctx[key];
  return ctx;
}
