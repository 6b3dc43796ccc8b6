import { describe, expect, it } from 'vitest';
import { collectBuildkiteEnv, parseBuildkiteEnv } from './buildkite-env.js';
import { ConfigError } from './errors.js';
import { Issues } from './validate.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

function problems(env: Record<string, string>): string[] {
  try {
    parseBuildkiteEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => `${i.file}: ${i.path}: ${i.message}`);
  }
  return [];
}

describe('parseBuildkiteEnv', () => {
  it('reads a pull request build (what the generator needs)', () => {
    expect(
      parseBuildkiteEnv({
        BUILDKITE: 'true',
        BUILDKITE_BRANCH: 'feat/$(id)',
        BUILDKITE_COMMIT: SHA,
        BUILDKITE_PULL_REQUEST: '42',
        BUILDKITE_PULL_REQUEST_BASE_BRANCH: 'main',
        BUILDKITE_PIPELINE_DEFAULT_BRANCH: 'main',
        BUILDKITE_BUILD_URL: 'https://buildkite.com/acme/halow/builds/7',
        BUILDKITE_API_TOKEN: 'bkua_abc123',
        BUILDKITE_ORGANIZATION_SLUG: 'acme',
        BUILDKITE_PIPELINE_SLUG: 'halow',
      }),
    ).toEqual({
      onBuildkite: true,
      branch: 'feat/$(id)',
      commit: SHA,
      pullRequest: 42,
      pullRequestBaseBranch: 'main',
      defaultBranch: 'main',
      buildUrl: 'https://buildkite.com/acme/halow/builds/7',
      pipelineSlug: 'halow',
      api: { token: 'bkua_abc123', organization: 'acme', pipeline: 'halow' },
    });
  });

  it('reads a tag build (what engex-ci needs)', () => {
    expect(
      parseBuildkiteEnv({
        BUILDKITE_COMMIT: SHA,
        BUILDKITE_BRANCH: 'v1.2.3',
        BUILDKITE_TAG: 'v1.2.3',
        BUILDKITE_BUILD_URL: 'local://local/abc',
        BUILDKITE_BUILD_NUMBER: '812',
        BUILDKITE_PIPELINE_SLUG: 'engex',
        UNRELATED: 'x',
      }),
    ).toEqual({
      onBuildkite: false,
      commit: SHA,
      branch: 'v1.2.3',
      tag: 'v1.2.3',
      buildUrl: 'local://local/abc',
      buildNumber: 812,
      pipelineSlug: 'engex',
    });
  });

  it('treats PULL_REQUEST=false and empty values as absent, and keeps HEAD for git to resolve', () => {
    expect(parseBuildkiteEnv({ BUILDKITE: 'true', BUILDKITE_PULL_REQUEST: 'false', BUILDKITE_COMMIT: 'HEAD', BUILDKITE_TAG: '' })).toEqual({
      onBuildkite: true,
      commit: 'HEAD',
    });
    expect(parseBuildkiteEnv({})).toEqual({ onBuildkite: false });
  });

  it('needs all three of token, organization and pipeline for the API', () => {
    expect(parseBuildkiteEnv({ BUILDKITE_API_TOKEN: 'x', BUILDKITE_PIPELINE_SLUG: 'p' }).api).toBeUndefined();
  });

  it('keeps NX_BASE and NX_HEAD verbatim', () => {
    expect(parseBuildkiteEnv({ NX_BASE: 'origin/main', NX_HEAD: 'HEAD' })).toMatchObject({ nxBase: 'origin/main', nxHead: 'HEAD' });
  });

  it('reports every bad variable at once, by name, and never echoes the token', () => {
    // Each bad variable, its value and the problem reported about it, in the order they are reported.
    const bad = [
      ['BUILDKITE_COMMIT', 'not-a-sha', 'expected a full 40-character lowercase commit sha (or HEAD), got "not-a-sha"'],
      ['BUILDKITE_BUILD_URL', 'javascript:alert(1)', 'expected an http(s):// or local:// URL, got "javascript:alert(1)"'],
      ['BUILDKITE_BUILD_NUMBER', 'seven', 'expected a build number, got "seven"'],
      ['BUILDKITE_ORGANIZATION_SLUG', 'Acme Inc', 'expected a Buildkite slug (lowercase letters, digits, dashes), got "Acme Inc"'],
      ['BUILDKITE_PULL_REQUEST', '12abc', 'expected "false" or a pull request number, got "12abc"'],
      ['BUILDKITE_API_TOKEN', 'bkua_secret value', 'expected a Buildkite API access token (letters, digits, "_" and "-")'],
    ] as const;
    const found = problems(Object.fromEntries(bad.map(([variable, value]) => [variable, value])));
    expect(found).toEqual(bad.map(([variable, , problem]) => `environment: ${variable}: ${problem}`));
    expect(found.join('\n')).not.toContain('secret value');
  });

  it('takes the strict slug rule: uppercase and underscores are not Buildkite slugs', () => {
    expect(problems({ BUILDKITE_PIPELINE_SLUG: 'Engex_CI' })).toEqual([
      'environment: BUILDKITE_PIPELINE_SLUG: expected a Buildkite slug (lowercase letters, digits, dashes), got "Engex_CI"',
    ]);
    expect(problems({ BUILDKITE_PIPELINE_SLUG: '-lead' })).toHaveLength(1);
    expect(problems({ BUILDKITE_PIPELINE_SLUG: 'engex-ci-2' })).toEqual([]);
  });

  it('requires the base branch of a pull request', () => {
    expect(() => parseBuildkiteEnv({ BUILDKITE_PULL_REQUEST: '3' })).toThrow(/BUILDKITE_PULL_REQUEST_BASE_BRANCH: is required/);
  });

  it('says how to fix a bad environment', () => {
    expect(() => parseBuildkiteEnv({ BUILDKITE_COMMIT: 'x' })).toThrow(/Buildkite sets these itself/);
  });

  it("collects into a caller's issues, so its own variables are reported in the same run", () => {
    const issues = new Issues('environment');
    expect(collectBuildkiteEnv({ BUILDKITE_COMMIT: 'x', BUILDKITE_BRANCH: 'main' }, issues)).toEqual({ onBuildkite: false, branch: 'main' });
    expect(issues.list.map((i) => i.path)).toEqual(['BUILDKITE_COMMIT']);
  });
});
