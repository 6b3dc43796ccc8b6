import { EnvError, type EnvIssue } from '../core/errors.js';

/**
 * The build context, parsed once at the CLI edge. Branch and tag names are kept verbatim, hostile
 * or not: they only ever reach the pipeline as inert data (see render.ts and shell.ts).
 */
export interface BuildkiteEnv {
  /** True when `BUILDKITE=true`, i.e. the generator runs inside a Buildkite job. */
  onBuildkite: boolean;
  branch?: string;
  /** A 40-hex sha; Buildkite's `HEAD` placeholder is dropped (git resolves it instead). */
  commit?: string;
  /** The pull request number, absent when `BUILDKITE_PULL_REQUEST` is `false` or unset. */
  pullRequest?: number;
  pullRequestBaseBranch?: string;
  defaultBranch?: string;
  buildUrl?: string;
  tag?: string;
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

const SHA = /^[0-9a-f]{40}$/;
const SLUG = /^[a-z0-9][a-z0-9-]{0,99}$/;
const URL_RE = /^https?:\/\/[^\s]+$/;

/** Validates the Buildkite variables from `env`, reporting every bad one at once. */
export function parseBuildkiteEnv(env: Readonly<Record<string, string | undefined>>): BuildkiteEnv {
  const issues: EnvIssue[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const out: BuildkiteEnv = { onBuildkite: get('BUILDKITE') === 'true' };

  const branch = get('BUILDKITE_BRANCH');
  if (branch !== undefined) out.branch = branch;
  const tag = get('BUILDKITE_TAG');
  if (tag !== undefined) out.tag = tag;

  const commit = get('BUILDKITE_COMMIT');
  if (commit !== undefined && commit !== 'HEAD') {
    if (SHA.test(commit)) out.commit = commit;
    else issues.push({ variable: 'BUILDKITE_COMMIT', message: `expected a 40-character hex sha or HEAD, got ${show(commit)}` });
  }

  const pr = get('BUILDKITE_PULL_REQUEST');
  if (pr !== undefined && pr !== 'false') {
    if (/^[1-9]\d{0,9}$/.test(pr)) out.pullRequest = Number(pr);
    else issues.push({ variable: 'BUILDKITE_PULL_REQUEST', message: `expected "false" or a pull request number, got ${show(pr)}` });
  }
  const prBase = get('BUILDKITE_PULL_REQUEST_BASE_BRANCH');
  if (prBase !== undefined) out.pullRequestBaseBranch = prBase;
  if (out.pullRequest !== undefined && prBase === undefined) {
    issues.push({ variable: 'BUILDKITE_PULL_REQUEST_BASE_BRANCH', message: 'is required for a pull request build' });
  }

  const defaultBranch = get('BUILDKITE_PIPELINE_DEFAULT_BRANCH');
  if (defaultBranch !== undefined) out.defaultBranch = defaultBranch;

  const buildUrl = get('BUILDKITE_BUILD_URL');
  if (buildUrl !== undefined) {
    if (URL_RE.test(buildUrl)) out.buildUrl = buildUrl;
    else issues.push({ variable: 'BUILDKITE_BUILD_URL', message: `expected an http(s) URL, got ${show(buildUrl)}` });
  }

  const token = get('BUILDKITE_API_TOKEN');
  const organization = get('BUILDKITE_ORGANIZATION_SLUG');
  const pipeline = get('BUILDKITE_PIPELINE_SLUG');
  for (const [name, value] of [['BUILDKITE_ORGANIZATION_SLUG', organization], ['BUILDKITE_PIPELINE_SLUG', pipeline]] as const) {
    if (value !== undefined && !SLUG.test(value)) {
      issues.push({ variable: name, message: `expected a Buildkite slug (lowercase letters, digits, dashes), got ${show(value)}` });
    }
  }
  if (token !== undefined && !/^[A-Za-z0-9_-]{1,200}$/.test(token)) {
    issues.push({ variable: 'BUILDKITE_API_TOKEN', message: 'expected a Buildkite API access token (letters, digits, "_" and "-")' });
  }
  if (token !== undefined && organization !== undefined && pipeline !== undefined) {
    out.api = { token, organization, pipeline };
  }

  const nxBase = get('NX_BASE');
  if (nxBase !== undefined) out.nxBase = nxBase;
  const nxHead = get('NX_HEAD');
  if (nxHead !== undefined) out.nxHead = nxHead;

  if (issues.length > 0) throw new EnvError(issues);
  return out;
}

function show(value: string): string {
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
