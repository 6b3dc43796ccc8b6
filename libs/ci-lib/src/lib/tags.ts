import type { TagConfig } from '@engex/workspace-config';
import { InvalidInputError } from './errors.js';

/** Docker's tag grammar: https://github.com/distribution/reference (tag = [\w][\w.-]{0,127}). */
export const DOCKER_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const FULL_SHA_PATTERN = /^[0-9a-f]{40}$/;

/** Loose semver (with optional `v`); build metadata is dropped because `+` is not allowed in tags. */
const SEMVER_TAG = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+[0-9A-Za-z.-]+)?$/;

export function isValidDockerTag(tag: string): boolean {
  return DOCKER_TAG_PATTERN.test(tag);
}

/** The commit must be the full lowercase 40-hex sha: it is the IMMUTABLE primary tag. */
export function assertFullSha(sha: string, subject = 'commit'): string {
  if (!FULL_SHA_PATTERN.test(sha)) {
    throw new InvalidInputError(subject, sha, 'expected a full 40-character lowercase hex git commit sha');
  }
  return sha;
}

/**
 * Maps an arbitrary string onto Docker's tag grammar: every run of characters outside
 * `[A-Za-z0-9_.-]` (including any non-ASCII code point) becomes one `-`, leading `.`/`-` are
 * trimmed (a tag must start with a word character) and the result is cut to 128 characters.
 * Throws when nothing usable is left, naming the input.
 */
export function sanitizeTag(input: string, subject = 'tag'): string {
  const replaced = input.replace(/[^A-Za-z0-9_.-]+/gu, '-');
  const trimmed = replaced.replace(/^[.-]+/, '').slice(0, 128);
  if (!isValidDockerTag(trimmed)) {
    throw new InvalidInputError(subject, input, 'cannot be turned into a Docker tag (nothing is left of it after sanitizing to [A-Za-z0-9_.-])');
  }
  return trimmed;
}

/** `v1.2.3` → `1.2.3`, `1.2.3-rc.1+build.5` → `1.2.3-rc.1`; undefined when the git tag is not semver. */
export function semverFromGitTag(gitTag: string): string | undefined {
  const match = SEMVER_TAG.exec(gitTag);
  return match?.[1];
}

export interface TagInputs {
  /** Full 40-hex commit sha: the primary, immutable tag. */
  sha: string;
  /** Branch being built, e.g. `feature/login`. */
  branch?: string;
  /** Pull-request number (Buildkite's BUILDKITE_PULL_REQUEST when not `false`). */
  pullRequest?: number;
  /** Git tag being built, e.g. `v1.2.3`. */
  gitTag?: string;
}

export interface PlannedTags {
  /** Always the full sha. */
  primary: string;
  /** Extra tags enabled by config, deduplicated, never equal to the primary. */
  extra: string[];
}

/** Pure: decides every tag of one image from the build context and `config.tags`. */
export function planTags(inputs: TagInputs, config: TagConfig): PlannedTags {
  const primary = assertFullSha(inputs.sha);
  const extra: string[] = [];
  if (config.short) extra.push(primary.slice(0, 7));
  if (config.branch && inputs.branch) extra.push(sanitizeTag(inputs.branch, 'branch'));
  if (config.pullRequest && inputs.pullRequest !== undefined) {
    if (!Number.isInteger(inputs.pullRequest) || inputs.pullRequest < 1) {
      throw new InvalidInputError('pull request', String(inputs.pullRequest), 'expected a positive integer');
    }
    extra.push(`pr-${inputs.pullRequest}`);
  }
  if (config.semver && inputs.gitTag) {
    const version = semverFromGitTag(inputs.gitTag);
    if (version !== undefined) extra.push(sanitizeTag(version, 'git tag'));
  }
  return { primary, extra: [...new Set(extra)].filter((t) => t !== primary) };
}
