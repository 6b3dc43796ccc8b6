import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKSPACE_CONFIG, type TagConfig } from '@engex/workspace-config';
import { InvalidInputError } from './errors.js';
import { DOCKER_TAG_PATTERN, assertFullSha, planTags, sanitizeTag, semverFromGitTag } from './tags.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const ALL: TagConfig = { short: true, branch: true, pullRequest: true, semver: true };

/** Deterministic PRNG so the property tests are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE = [
  'feat/$(id)',
  '`rm -rf /`',
  'a\nb',
  '\n',
  'x'.repeat(300),
  '-'.repeat(300) + 'a',
  '.hidden',
  '...',
  '---',
  'ünïcödé/ブランチ',
  'ブランチ',
  '🚀 launch',
  'release/2026.11',
  'it\'s "quoted"',
  'a b\tc',
  '${{ secrets.X }}',
  '$$BUILDKITE',
  'refs/heads/main',
  '_',
  '',
  ' ',
  '\u0000\u0001',
  'x\u202Ey',
  'ﬁ',
  '.' + 'é'.repeat(200),
];

const POOL = [...'abcXYZ019_.-/ $()`\'"\n\t\\:@#%&*ü😀ブ\u0000\u200B'];

describe('assertFullSha', () => {
  it('accepts a full lowercase sha', () => {
    expect(assertFullSha(SHA)).toBe(SHA);
  });

  it.each(['', 'HEAD', SHA.slice(0, 7), SHA.toUpperCase(), `${SHA}0`, `${SHA.slice(0, 39)}g`, ` ${SHA}`])('rejects %j, naming the value', (value) => {
    expect(() => assertFullSha(value, 'BUILDKITE_COMMIT')).toThrow(InvalidInputError);
    expect(() => assertFullSha(value, 'BUILDKITE_COMMIT')).toThrow(`BUILDKITE_COMMIT: expected a full 40-character lowercase hex git commit sha, got ${JSON.stringify(value)}`);
  });
});

describe('sanitizeTag', () => {
  it.each([
    ['feature/login', 'feature-login'],
    ['feat/$(id)', 'feat-id-'],
    ['release/2026.11', 'release-2026.11'],
    ['.hidden', 'hidden'],
    ['--x', 'x'],
    ['ünïcödé/ブランチ', 'n-c-d-'],
    ['_ok', '_ok'],
    ['x'.repeat(300), 'x'.repeat(128)],
  ])('%j → %j', (input, expected) => {
    expect(sanitizeTag(input)).toBe(expected);
  });

  it.each(['', '---', '...', 'ブランチ', '🚀', '\n', '.-.-'])('rejects %j with a clear error', (input) => {
    expect(() => sanitizeTag(input, 'branch')).toThrow(/^branch: cannot be turned into a Docker tag/);
  });

  it('never returns an invalid tag for hostile inputs', () => {
    for (const input of HOSTILE) expectValidOrRejected(input);
  });

  it('never returns an invalid tag for 5,000 random strings (property)', () => {
    const random = mulberry32(42);
    for (let n = 0; n < 5000; n++) {
      const length = Math.floor(random() * 320);
      let s = '';
      for (let i = 0; i < length; i++) s += POOL[Math.floor(random() * POOL.length)];
      expectValidOrRejected(s);
    }
  });
});

function expectValidOrRejected(input: string): void {
  let tag: string | undefined;
  try {
    tag = sanitizeTag(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(input.replace(/[^A-Za-z0-9_]/g, '')).toBe('');
    return;
  }
  expect(tag).toMatch(DOCKER_TAG_PATTERN);
  expect(tag.length).toBeLessThanOrEqual(128);
}

describe('semverFromGitTag', () => {
  it.each([
    ['v1.2.3', '1.2.3'],
    ['1.2.3', '1.2.3'],
    ['v1.2.3-rc.1', '1.2.3-rc.1'],
    ['v1.2.3+build.7', '1.2.3'],
    ['v1.2', undefined],
    ['deploy-2026', undefined],
    ['v1.2.3\n', undefined],
  ])('%j → %j', (tag, expected) => {
    expect(semverFromGitTag(tag)).toBe(expected);
  });
});

describe('planTags', () => {
  it('defaults give the sha plus the semver of a tag build', () => {
    expect(planTags({ sha: SHA, branch: 'main', gitTag: 'v1.4.0' }, DEFAULT_WORKSPACE_CONFIG.tags)).toEqual({
      primary: SHA,
      extra: ['1.4.0'],
    });
  });

  it('emits every enabled tag', () => {
    expect(planTags({ sha: SHA, branch: 'feat/$(id)', pullRequest: 42, gitTag: 'v2.0.0-beta.1' }, ALL)).toEqual({
      primary: SHA,
      extra: ['0123456', 'feat-id-', 'pr-42', '2.0.0-beta.1'],
    });
  });

  it('omits tags whose input is missing or not semver', () => {
    expect(planTags({ sha: SHA, gitTag: 'nightly' }, ALL)).toEqual({ primary: SHA, extra: ['0123456'] });
  });

  it('rejects a non-sha primary and an unusable branch', () => {
    expect(() => planTags({ sha: 'HEAD' }, ALL)).toThrow(/commit: expected a full 40-character/);
    expect(() => planTags({ sha: SHA, branch: 'ブランチ' }, ALL)).toThrow(/branch: cannot be turned into a Docker tag.*"ブランチ"/);
    expect(() => planTags({ sha: SHA, pullRequest: 0 }, ALL)).toThrow(/pull request: expected a positive integer/);
  });

  it('every produced tag is valid for hostile branches', () => {
    for (const branch of HOSTILE) {
      let planned;
      try {
        planned = planTags({ sha: SHA, branch, pullRequest: 7, gitTag: branch }, ALL);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidInputError);
        continue;
      }
      for (const tag of [planned.primary, ...planned.extra]) expect(tag).toMatch(DOCKER_TAG_PATTERN);
    }
  });
});
