import { describe, expect, it } from 'vitest';
import { parseBuildContext } from './context.js';
import { ConfigError } from '@engex/workspace-config';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('parseBuildContext', () => {
  it('reads the Buildkite variables', () => {
    expect(
      parseBuildContext({
        BUILDKITE_COMMIT: SHA,
        BUILDKITE_BRANCH: 'feat/$(id)',
        BUILDKITE_BUILD_URL: 'https://buildkite.com/highspot/engex/builds/812',
        BUILDKITE_BUILD_NUMBER: '812',
        BUILDKITE_PIPELINE_SLUG: 'engex',
        BUILDKITE_PULL_REQUEST: '42',
        BUILDKITE_PULL_REQUEST_BASE_BRANCH: 'main',
        BUILDKITE_TAG: 'v1.2.3',
        SOURCE_DATE_EPOCH: '1767225600',
        REGISTRY: '127.0.0.1:5000',
        NODE_IMAGE: 'engex/node-base:local',
        UNRELATED: 'x',
      }),
    ).toEqual({
      onBuildkite: false,
      commit: SHA,
      branch: 'feat/$(id)',
      buildUrl: 'https://buildkite.com/highspot/engex/builds/812',
      buildNumber: 812,
      pipelineSlug: 'engex',
      pullRequest: 42,
      pullRequestBaseBranch: 'main',
      tag: 'v1.2.3',
      sourceDateEpoch: '1767225600',
      registry: { kind: 'plain', host: '127.0.0.1:5000', protocol: 'http' },
      nodeImage: 'engex/node-base:local',
    });
  });

  it('treats empty values and PULL_REQUEST=false as unset', () => {
    expect(parseBuildContext({ BUILDKITE_PULL_REQUEST: 'false', BUILDKITE_TAG: '', REGISTRY: '' })).toEqual({ onBuildkite: false });
  });

  it('reports every bad variable at once, by name', () => {
    let error: unknown;
    try {
      parseBuildContext({
        BUILDKITE_COMMIT: 'abc123',
        BUILDKITE_PULL_REQUEST: 'yes',
        BUILDKITE_BUILD_URL: 'javascript:alert(1)',
        SOURCE_DATE_EPOCH: 'now',
        REGISTRY: 'http://localhost:5000',
        NODE_IMAGE: 'Node 24',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'BUILDKITE_COMMIT: expected a full 40-character lowercase commit sha (or HEAD), got "abc123"',
      'BUILDKITE_BUILD_URL: expected an http(s):// or local:// URL, got "javascript:alert(1)"',
      'BUILDKITE_PULL_REQUEST: expected "false" or a pull request number, got "yes"',
      'SOURCE_DATE_EPOCH: expected whole seconds since 1970-01-01 UTC, got "now"',
      'REGISTRY: expected host:port of a plain OCI registry, such as 127.0.0.1:5000, got "http://localhost:5000"',
      'NODE_IMAGE: expected an image reference such as node:24.11.1-alpine3.22, got "Node 24"',
    ]);
  });
});
