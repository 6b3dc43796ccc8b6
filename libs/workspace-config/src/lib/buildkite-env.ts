import { ConfigError } from './errors.js';
import { Issues, describe } from './validate.js';

/**
 * The Buildkite build context, parsed once at each executable's edge (engex-ci and
 * engex-pipeline read the same variables through this one parser). Branch and tag names are kept
 * verbatim, hostile or not: they only ever reach a pipeline or a command as inert data.
 */
export interface BuildkiteEnv {
  /** True when `BUILDKITE=true`, i.e. inside a Buildkite job. */
  onBuildkite: boolean;
  /** BUILDKITE_COMMIT: a full lowercase sha, or Buildkite's `HEAD` placeholder (git resolves it). */
  commit?: string;
  branch?: string;
  /** BUILDKITE_TAG: the git tag of a tag build. */
  tag?: string;
  buildUrl?: string;
  buildNumber?: number;
  pipelineSlug?: string;
  /** The pull request number, absent when `BUILDKITE_PULL_REQUEST` is `false` or unset. */
  pullRequest?: number;
  pullRequestBaseBranch?: string;
  defaultBranch?: string;
  /** Present only when all three of token, organization and pipeline slug are set. */
  api?: BuildkiteApiConfig;
  nxBase?: string;
  nxHead?: string;
}

export interface BuildkiteApiConfig {
  token: string;
  organization: string;
  pipeline: string;
}

/** The variables `parseBuildkiteEnv` reads, for help texts. */
export const BUILDKITE_ENV = [
  'BUILDKITE',
  'BUILDKITE_COMMIT',
  'BUILDKITE_BRANCH',
  'BUILDKITE_TAG',
  'BUILDKITE_BUILD_URL',
  'BUILDKITE_BUILD_NUMBER',
  'BUILDKITE_PIPELINE_SLUG',
  'BUILDKITE_ORGANIZATION_SLUG',
  'BUILDKITE_PULL_REQUEST',
  'BUILDKITE_PULL_REQUEST_BASE_BRANCH',
  'BUILDKITE_PIPELINE_DEFAULT_BRANCH',
  'BUILDKITE_API_TOKEN',
  'NX_BASE',
  'NX_HEAD',
] as const;

export type Env = Readonly<Record<string, string | undefined>>;

/** Buildkite slugs are lowercase letters, digits and dashes (Buildkite derives them that way). */
const SLUG = /^[a-z0-9][a-z0-9-]{0,99}$/;

/** Where env problems are reported: `environment: <VARIABLE>: ...`. */
export const ENVIRONMENT = 'environment';

/** Empty values count as unset, as a shell's `VAR=` means "not given". */
export function readEnv(env: Env, key: string): string | undefined {
  const value = env[key];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Pure: validates the Buildkite variables into `issues` (so a caller that reads more variables
 * reports all of them at once) and returns what was valid.
 */
export function collectBuildkiteEnv(env: Env, issues: Issues): BuildkiteEnv {
  const get = (key: (typeof BUILDKITE_ENV)[number]): string | undefined => readEnv(env, key);
  const check = (key: (typeof BUILDKITE_ENV)[number], pattern: RegExp, expected: string): string | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    if (pattern.test(value)) return value;
    // Never echo a token, even a malformed one.
    issues.add(key, key === 'BUILDKITE_API_TOKEN' ? `expected ${expected}` : `expected ${expected}, got ${describe(value)}`);
    return undefined;
  };
  const out: BuildkiteEnv = { onBuildkite: get('BUILDKITE') === 'true' };
  const set = <K extends keyof BuildkiteEnv>(key: K, value: BuildkiteEnv[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };

  set('commit', check('BUILDKITE_COMMIT', /^([0-9a-f]{40}|HEAD)$/, 'a full 40-character lowercase commit sha (or HEAD)'));
  set('branch', get('BUILDKITE_BRANCH'));
  set('tag', get('BUILDKITE_TAG'));
  set('buildUrl', check('BUILDKITE_BUILD_URL', /^(https?|local):\/\/[^\s]+$/, 'an http(s):// or local:// URL'));
  const buildNumber = check('BUILDKITE_BUILD_NUMBER', /^\d{1,12}$/, 'a build number');
  set('buildNumber', buildNumber === undefined ? undefined : Number(buildNumber));
  const slug = 'a Buildkite slug (lowercase letters, digits, dashes)';
  const pipeline = check('BUILDKITE_PIPELINE_SLUG', SLUG, slug);
  set('pipelineSlug', pipeline);
  const organization = check('BUILDKITE_ORGANIZATION_SLUG', SLUG, slug);

  const pr = get('BUILDKITE_PULL_REQUEST');
  if (pr !== undefined && pr !== 'false') {
    if (/^[1-9]\d{0,9}$/.test(pr)) out.pullRequest = Number(pr);
    else issues.add('BUILDKITE_PULL_REQUEST', `expected "false" or a pull request number, got ${describe(pr)}`);
  }
  set('pullRequestBaseBranch', get('BUILDKITE_PULL_REQUEST_BASE_BRANCH'));
  if (out.pullRequest !== undefined && out.pullRequestBaseBranch === undefined) {
    issues.add('BUILDKITE_PULL_REQUEST_BASE_BRANCH', 'is required for a pull request build (Buildkite sets it with BUILDKITE_PULL_REQUEST)');
  }
  set('defaultBranch', get('BUILDKITE_PIPELINE_DEFAULT_BRANCH'));

  const token = check('BUILDKITE_API_TOKEN', /^[A-Za-z0-9_-]{1,200}$/, 'a Buildkite API access token (letters, digits, "_" and "-")');
  if (token !== undefined && organization !== undefined && pipeline !== undefined) out.api = { token, organization, pipeline };

  set('nxBase', get('NX_BASE'));
  set('nxHead', get('NX_HEAD'));
  return out;
}

/** Pure: the Buildkite variables of `env`, validated; every bad one is reported at once. */
export function parseBuildkiteEnv(env: Env): BuildkiteEnv {
  const issues = new Issues(ENVIRONMENT);
  const out = collectBuildkiteEnv(env, issues);
  if (issues.list.length > 0) throw new ConfigError(issues.list, { hint: ENV_HINT });
  return out;
}

/** How to fix a bad build environment. */
export const ENV_HINT = 'Buildkite sets these itself; when running by hand, unset them or give valid values.';
