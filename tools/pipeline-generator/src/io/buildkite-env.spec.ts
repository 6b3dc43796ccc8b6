import { describe, expect, it } from 'vitest';
import { parseBuildkiteEnv } from './buildkite-env.js';
import { EnvError } from '../core/errors.js';

const SHA = 'a'.repeat(40);

describe('parseBuildkiteEnv', () => {
  it('reads a pull request build', () => {
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
      api: { token: 'bkua_abc123', organization: 'acme', pipeline: 'halow' },
    });
  });

  it('treats PULL_REQUEST=false, HEAD and empty values as absent', () => {
    expect(parseBuildkiteEnv({ BUILDKITE: 'true', BUILDKITE_PULL_REQUEST: 'false', BUILDKITE_COMMIT: 'HEAD', BUILDKITE_TAG: '' })).toEqual({ onBuildkite: true });
    expect(parseBuildkiteEnv({})).toEqual({ onBuildkite: false });
  });

  it('needs all three of token, organization and pipeline for the API', () => {
    expect(parseBuildkiteEnv({ BUILDKITE_API_TOKEN: 'x', BUILDKITE_PIPELINE_SLUG: 'p' }).api).toBeUndefined();
  });

  it('keeps NX_BASE and NX_HEAD verbatim', () => {
    expect(parseBuildkiteEnv({ NX_BASE: 'origin/main', NX_HEAD: 'HEAD' })).toMatchObject({ nxBase: 'origin/main', nxHead: 'HEAD' });
  });

  it('reports every bad variable at once, by name', () => {
    let error: unknown;
    try {
      parseBuildkiteEnv({
        BUILDKITE_COMMIT: 'not-a-sha',
        BUILDKITE_PULL_REQUEST: '12abc',
        BUILDKITE_BUILD_URL: 'javascript:alert(1)',
        BUILDKITE_ORGANIZATION_SLUG: 'Acme Inc',
        BUILDKITE_API_TOKEN: 'a b',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvError);
    expect((error as EnvError).issues.map((i) => i.variable)).toEqual([
      'BUILDKITE_COMMIT',
      'BUILDKITE_PULL_REQUEST',
      'BUILDKITE_BUILD_URL',
      'BUILDKITE_ORGANIZATION_SLUG',
      'BUILDKITE_API_TOKEN',
    ]);
    expect((error as EnvError).message).toContain('BUILDKITE_PULL_REQUEST: expected "false" or a pull request number, got "12abc"');
    expect((error as EnvError).message).not.toContain('a b');
  });

  it('requires the base branch of a pull request', () => {
    expect(() => parseBuildkiteEnv({ BUILDKITE_PULL_REQUEST: '3' })).toThrow(/BUILDKITE_PULL_REQUEST_BASE_BRANCH: is required/);
  });
});
