/**
 * Every failure ci-lib can report. Each is a small named class that carries its data and says
 * how to fix the problem; executables map them to exit codes in their one catch.
 */

export type EngexErrorCode =
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'INVALID_INPUT'
  | 'IMMUTABLE_TAG_CONFLICT'
  | 'INFRASTRUCTURE'
  | 'POLICY_FAILED'
  | 'SMOKE_FAILED'
  | 'MANIFEST_INVALID'
  | 'SCAN_REPORT_INVALID';

export abstract class EngexError extends Error {
  abstract readonly code: EngexErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

export interface ConfigIssue {
  /** The file the bad value came from, relative to the workspace root. */
  file: string;
  /** Dotted path inside the file, e.g. `registry.account`. */
  path: string;
  message: string;
}

export class ConfigError extends EngexError {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      `Invalid engex configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${i.file}: ${i.path || '(root)'}: ${i.message}`).join('\n') +
        '\nFix the values above; the allowed forms are documented in README.md#configuration.',
    );
  }
}

/** A bad flag, argument or value given to an engex executable. */
export class UsageError extends EngexError {
  readonly code = 'USAGE';
}

/**
 * A value from the build context (commit, branch, tag, registry host, repository name...) that
 * cannot be used as given. `subject` names where it came from, e.g. `BUILDKITE_COMMIT`.
 */
export class InvalidInputError extends EngexError {
  readonly code = 'INVALID_INPUT';
  constructor(
    readonly subject: string,
    readonly value: string,
    problem: string,
  ) {
    super(`${subject}: ${problem}, got ${JSON.stringify(value.length > 140 ? `${value.slice(0, 137)}...` : value)}`);
  }
}

/**
 * The registry already holds a different image under an IMMUTABLE tag. Nothing was pushed;
 * overwriting is impossible by design, so a human has to decide.
 */
export class ImmutableTagError extends EngexError {
  readonly code = 'IMMUTABLE_TAG_CONFLICT';
  constructor(
    readonly reference: string,
    readonly remote: { manifestDigest: string; configDigest?: string; revision?: string },
    readonly local: { configDigest: string; revision: string },
  ) {
    super(
      `Immutable tag conflict: ${reference} already exists with a different image.\n` +
        `  registry: manifest ${remote.manifestDigest}, image id ${remote.configDigest ?? 'unknown'}, revision label ${remote.revision ?? '(none)'}\n` +
        `  local:    image id ${local.configDigest}, revision ${local.revision}\n` +
        'Nothing was pushed. The tag is the commit sha, so a different image under it means it was built from other ' +
        'content; find who pushed it before deleting anything, and never retag.',
    );
  }
}

/** Docker, git, the registry or AWS failed or is unreachable. Usually worth a retry of the job. */
export class InfrastructureError extends EngexError {
  readonly code = 'INFRASTRUCTURE';
}

/** A registry answered with an error we do not retry, or kept failing after retries. */
export class RegistryError extends InfrastructureError {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A child process (docker, git) exited non-zero. `output` is its redacted tail. */
export class CommandFailedError extends InfrastructureError {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(`${command} failed (exit ${exitCode ?? 'signal'}):\n${output.trimEnd() || '(no output)'}`);
  }
}

/** The scan gate rejected the image. The annotation lists the failing findings. */
export class PolicyFailedError extends EngexError {
  readonly code = 'POLICY_FAILED';
}

/** The built image did not answer /healthz or reported the wrong revision. */
export class SmokeTestError extends EngexError {
  readonly code = 'SMOKE_FAILED';
}

/** A deploy manifest is missing, is not a kustomization, or cannot be edited unambiguously. */
export class ManifestError extends EngexError {
  readonly code = 'MANIFEST_INVALID';
}

/** A Trivy JSON report that cannot be read or is not the schema we gate on: never a pass. */
export class ScanReportError extends EngexError {
  readonly code = 'SCAN_REPORT_INVALID';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${file} is not a usable Trivy report (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${p}`).join('\n') +
        '\nProduce it with `trivy image --format json --output <file>` (SchemaVersion 2).',
    );
  }
}

export type ExitCode = 0 | 1 | 2 | 3 | 4;

/** 0 ok, 1 a check failed (scan policy, smoke), 2 usage/config/input, 3 immutability conflict, 4 infrastructure. */
export const EXIT_CODES: Readonly<Record<EngexErrorCode, ExitCode>> = {
  POLICY_FAILED: 1,
  SMOKE_FAILED: 1,
  USAGE: 2,
  CONFIG_INVALID: 2,
  INVALID_INPUT: 2,
  MANIFEST_INVALID: 2,
  SCAN_REPORT_INVALID: 2,
  IMMUTABLE_TAG_CONFLICT: 3,
  INFRASTRUCTURE: 4,
};

/** Unknown errors are bugs or environment failures; they map to 4 so a retry is possible. */
export function exitCodeFor(error: unknown): ExitCode {
  return error instanceof EngexError ? EXIT_CODES[error.code] : 4;
}

// Imports are hoisted; this one sits with the classes that use it so this file's head (moving to
// @engex/workspace-config) stays untouched.
import { redact } from './redact.js';

/** Seconds with one decimal, for messages: `12.0 s`. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A network operation (registry request, AWS call, git over the network) did not finish within its
 * overall deadline. Exit 4: the peer is slow or not answering, and a later retry may pass. The host
 * is redacted, so a URL with credentials can be passed as it is.
 */
export class DeadlineExceededError extends InfrastructureError {
  readonly host: string;
  constructor(
    readonly operation: string,
    host: string,
    readonly waitedMs: number,
    readonly deadlineMs: number,
    /** How to raise the deadline, e.g. `set ENGEX_CI_REGISTRY_DEADLINE (seconds)`. */
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    const safeHost = redact(host);
    super(
      `${operation} on ${safeHost} did not finish within its ${seconds(deadlineMs)} deadline (waited ${seconds(waitedMs)}); ` +
        `the peer is slow or not answering. Check that ${safeHost} is reachable from this agent, or ${hint}.`,
      options,
    );
    this.host = safeHost;
  }
}

/**
 * The registry kept answering 429 or 503 (throttled, or briefly unavailable) after the bounded
 * retries, or asked us to wait longer than we will. `retryAfterMs` is what it last asked for.
 */
export class RegistryThrottledError extends RegistryError {
  constructor(
    message: string,
    status: number,
    readonly retryAfterMs?: number,
  ) {
    super(redact(message), status);
  }
}
