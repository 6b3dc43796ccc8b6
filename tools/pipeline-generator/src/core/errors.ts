/**
 * Every failure the generator can report. Each is a small named class that carries its data and
 * says how to fix the problem; the CLI maps them to exit codes in its one catch.
 */

export type GeneratorErrorCode =
  | 'USAGE'
  | 'ENV_INVALID'
  | 'BASE_UNAVAILABLE'
  | 'GIT_FAILED'
  | 'BUILDKITE_API_FAILED'
  | 'WORKSPACE_INVALID'
  | 'PIPELINE_INVALID';

export abstract class GeneratorError extends Error {
  abstract readonly code: GeneratorErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

/** A bad flag or argument given to `engex-pipeline`. */
export class UsageError extends GeneratorError {
  readonly code = 'USAGE';
}

export interface EnvIssue {
  /** The environment variable, e.g. `BUILDKITE_PULL_REQUEST`. */
  variable: string;
  message: string;
}

export class EnvError extends GeneratorError {
  readonly code = 'ENV_INVALID';
  constructor(readonly issues: readonly EnvIssue[]) {
    super(
      `Invalid Buildkite environment (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n') +
        '\nBuildkite sets these itself; when running by hand, unset them or give valid values.',
    );
  }
}

/** `--strict-base` was given and no base commit could be established. */
export class BaseUnavailableError extends GeneratorError {
  readonly code = 'BASE_UNAVAILABLE';
  constructor(readonly reason: string) {
    super(
      `No base commit could be established: ${reason}\n` +
        'Pass --base <ref> (or NX_BASE), fetch more history, or drop --strict-base to run everything.',
    );
  }
}

export class GitError extends GeneratorError {
  readonly code = 'GIT_FAILED';
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(
      `git ${args.join(' ')} failed: ${stderr.trim() || 'no output'}\n` +
        'Run the generator inside a git checkout of the workspace, with git on PATH.',
      options,
    );
  }
}

export class BuildkiteApiError extends GeneratorError {
  readonly code = 'BUILDKITE_API_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`${message}\nCheck BUILDKITE_API_TOKEN (needs read_builds), BUILDKITE_ORGANIZATION_SLUG and BUILDKITE_PIPELINE_SLUG.`, options);
  }
}

/** The Nx workspace could not be read (project graph, nx.json, a project's targets). */
export class WorkspaceError extends GeneratorError {
  readonly code = 'WORKSPACE_INVALID';
}

export interface PipelineIssue {
  /** Where in the pipeline, e.g. `steps[3].steps[0].depends_on[1]`. */
  path: string;
  message: string;
}

/** The generated pipeline failed its own checks; a bug in the generator, never in the change. */
export class PipelineInvalidError extends GeneratorError {
  readonly code = 'PIPELINE_INVALID';
  constructor(readonly issues: readonly PipelineIssue[]) {
    super(
      `The generated pipeline is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${i.path}: ${i.message}`).join('\n') +
        '\nThis is a generator bug: report it with the output of `engex-pipeline generate --format json --explain`.',
    );
  }
}
