/**
 * The one base of every engex error, and the exit-code table every engex executable shares.
 * Each failure is a small named class that carries its data and says how to fix the problem;
 * an executable maps it to its exit code in its one catch.
 */

/** What an engex executable's exit status means, shared by engex-ci and engex-pipeline. */
export const EXIT_CODES = {
  ok: 0,
  /** A check said no: scan policy, smoke test, pipeline self-check. */
  checkFailed: 1,
  /** Bad flags, config or input: fix the invocation, a retry will not help. */
  usage: 2,
  /** An immutable tag already holds a different image: a human decides. */
  conflict: 3,
  /** Docker, git, a registry or an API failed: usually worth a retry. */
  infrastructure: 4,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export interface EngexErrorOptions {
  cause?: unknown;
  /** How to fix it, appended to the message on its own line. */
  hint?: string;
}

export abstract class EngexError extends Error {
  /** A stable string literal per class, e.g. `CONFIG_INVALID`, for programs and tests. */
  abstract readonly code: string;
  abstract readonly exitCode: ExitCode;
  readonly hint?: string;

  constructor(message: string, options: EngexErrorOptions = {}) {
    super(options.hint ? `${message}\n${options.hint}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = this.constructor.name;
    if (options.hint) this.hint = options.hint;
  }
}

/**
 * The base of one kind of error, with its stable code and exit code fixed once:
 * `class UsageError extends errorKind('USAGE', EXIT_CODES.usage) {}`. A kind that carries data
 * adds its fields and message in its own constructor.
 */
export function errorKind<const C extends string, const E extends ExitCode>(code: C, exitCode: E) {
  return class extends EngexError {
    readonly code: C = code;
    readonly exitCode: E = exitCode;
  };
}

/** Unknown errors are bugs or environment failures; they map to 4 so a retry is possible. */
export function exitCodeFor(error: unknown): ExitCode {
  return error instanceof EngexError ? error.exitCode : EXIT_CODES.infrastructure;
}

/** A bad flag, argument or value given to an engex executable. */
export class UsageError extends errorKind('USAGE', EXIT_CODES.usage) {}

/** One problem at one place of a document: a config file, the environment, a generated pipeline. */
export interface PathIssue {
  /** Where inside the document, e.g. `registry.account`, a variable name or `steps[3].depends_on[1]`. */
  path: string;
  message: string;
}

export interface ConfigIssue extends PathIssue {
  /** The file the bad value came from, relative to the workspace root (`environment` for env vars). */
  file: string;
}

const CONFIG_HINT = 'Fix the values above; the allowed forms are documented in README.md#configuration.';

/** engex.config.json, a project's `nx.metadata.engex` or the environment holds values we cannot use. */
export class ConfigError extends errorKind('CONFIG_INVALID', EXIT_CODES.usage) {
  constructor(
    readonly issues: readonly ConfigIssue[],
    options: EngexErrorOptions = {},
  ) {
    super(
      `Invalid engex configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${i.file}: ${i.path || '(root)'}: ${i.message}`).join('\n'),
      { ...options, hint: options.hint ?? CONFIG_HINT },
    );
  }
}

/**
 * A value from the build context (commit, branch, tag, registry host, repository name...) that
 * cannot be used as given. `subject` names where it came from, e.g. `BUILDKITE_COMMIT`.
 */
export class InvalidInputError extends errorKind('INVALID_INPUT', EXIT_CODES.usage) {
  constructor(
    readonly subject: string,
    readonly value: string,
    problem: string,
  ) {
    super(`${subject}: ${problem}, got ${JSON.stringify(value.length > 140 ? `${value.slice(0, 137)}...` : value)}`);
  }
}
