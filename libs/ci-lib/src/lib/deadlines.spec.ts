import { describe, expect, it } from 'vitest';
import { DEFAULT_DEADLINES, parseDeadlines } from './deadlines.js';
import { ConfigError, DeadlineExceededError, exitCodeFor } from './errors.js';

describe('parseDeadlines', () => {
  it('defaults, overridden per variable in seconds', () => {
    expect(parseDeadlines({})).toEqual({ registryMs: 60_000, awsMs: 30_000, gitMs: 120_000 });
    expect(parseDeadlines({ ENGEX_CI_REGISTRY_DEADLINE: '1.5', ENGEX_CI_GIT_DEADLINE: '300', ENGEX_CI_AWS_DEADLINE: '' })).toEqual({
      ...DEFAULT_DEADLINES,
      registryMs: 1500,
      gitMs: 300_000,
    });
  });

  it('reports every bad value with its variable', () => {
    let error: unknown;
    try {
      parseDeadlines({ ENGEX_CI_REGISTRY_DEADLINE: '0', ENGEX_CI_AWS_DEADLINE: '30s', ENGEX_CI_GIT_DEADLINE: '999999' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['ENGEX_CI_REGISTRY_DEADLINE', 'ENGEX_CI_AWS_DEADLINE', 'ENGEX_CI_GIT_DEADLINE']);
    expect(exitCodeFor(error)).toBe(2);
  });
});

describe('DeadlineExceededError', () => {
  it('names the operation, the host without credentials and the time; exit 4', () => {
    const error = new DeadlineExceededError(
      'deploy bump (git clone)',
      'https://x-access-token:ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/ops.git',
      121_400,
      120_000,
      'raise ENGEX_CI_GIT_DEADLINE',
    );
    expect(error.message).toBe(
      'deploy bump (git clone) on https://***@github.com/o/ops.git did not finish within its 120.0 s deadline (waited 121.4 s); the peer is slow or not answering. ' +
        'Check that https://***@github.com/o/ops.git is reachable from this agent, or raise ENGEX_CI_GIT_DEADLINE.',
    );
    expect(exitCodeFor(error)).toBe(4);
  });
});
