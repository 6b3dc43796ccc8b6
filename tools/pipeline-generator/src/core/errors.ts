/**
 * Every failure the generator and its local runner can report. Each is a small named class that
 * carries its data, its exit code and a hint that says how to fix the problem; the CLI's one
 * catch prints the message and the hint and returns `exitCode`.
 */

import { EngexError, problemList, type EngexErrorOptions, type ExitCode, type PathIssue } from '@engex/workspace-config';

// One usage error for every engex executable: a bad flag means the same thing everywhere.
export { UsageError } from '@engex/workspace-config';

export type GeneratorErrorCode = 'BASE_UNAVAILABLE' | 'GIT_FAILED' | 'BUILDKITE_API_FAILED' | 'WORKSPACE_INVALID' | 'PIPELINE_INVALID' | 'LOCAL_SETUP' | 'LOCAL_PLAN_INVALID';

/**
 * The exit-code contract of `engex-pipeline` (the shared table of @engex/workspace-config):
 * 1 no base under --strict-base or a generator bug caught by validation, 2 usage/configuration/
 * environment, 4 git, Nx, Buildkite API or a part a local run needs.
 */
export const EXIT_CODES: Readonly<Record<GeneratorErrorCode, ExitCode>> = {
  BASE_UNAVAILABLE: 1,
  GIT_FAILED: 4,
  BUILDKITE_API_FAILED: 4,
  WORKSPACE_INVALID: 4,
  PIPELINE_INVALID: 1,
  LOCAL_SETUP: 4,
  LOCAL_PLAN_INVALID: 4,
};

export type GeneratorErrorOptions = EngexErrorOptions;

/** The generator's failures: EngexErrors whose exit code follows from their code. */
export abstract class GeneratorError extends EngexError {
  abstract override readonly code: GeneratorErrorCode;
  get exitCode(): ExitCode {
    return EXIT_CODES[this.code];
  }
}

/** `--strict-base` was given and no base commit could be established. */
export class BaseUnavailableError extends GeneratorError {
  readonly code = 'BASE_UNAVAILABLE';
  constructor(readonly reason: string) {
    super(`No base commit could be established: ${reason}`, {
      hint: 'Pass --base <ref> (or NX_BASE), fetch more history, or drop --strict-base to run everything.',
    });
  }
}

export class GitError extends GeneratorError {
  readonly code = 'GIT_FAILED';
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(`git ${args.join(' ')} failed: ${stderr.trim() || 'no output'}`, {
      ...options,
      hint: 'Run the generator inside a git checkout of the workspace, with git on PATH.',
    });
  }
}

export class BuildkiteApiError extends GeneratorError {
  readonly code = 'BUILDKITE_API_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, hint: 'Check BUILDKITE_API_TOKEN (needs read_builds), BUILDKITE_ORGANIZATION_SLUG and BUILDKITE_PIPELINE_SLUG.' });
  }
}

/** The Nx workspace could not be read (project graph, nx.json, a project's targets). */
export class WorkspaceError extends GeneratorError {
  readonly code = 'WORKSPACE_INVALID';
}

/** A problem in the generated pipeline; its path is inside the pipeline, e.g. `steps[3].steps[0].depends_on[1]`. */
export type PipelineIssue = PathIssue;

/** The generated pipeline failed its own checks; a bug in the generator, never in the change. */
export class PipelineInvalidError extends GeneratorError {
  readonly code = 'PIPELINE_INVALID';
  constructor(readonly issues: readonly PipelineIssue[]) {
    super(
      problemList(
        (count) => `The generated pipeline is invalid (${count}):`,
        issues.map((i) => `${i.path}: ${i.message}`),
      ),
      {
        hint: 'This is a generator bug: report it with the output of `engex-pipeline generate --format json --explain`.',
      },
    );
  }
}

/** A part `run --local` needs is missing (Docker, a registry, the checkout); the message is the fix. */
export class LocalSetupError extends GeneratorError {
  readonly code = 'LOCAL_SETUP';
}

/** The pipeline cannot be mapped onto this machine; a bug in the generator. */
export class LocalPlanError extends GeneratorError {
  readonly code = 'LOCAL_PLAN_INVALID';
  constructor(message: string) {
    super(message, { hint: 'This is a generator bug: report it with the output of `engex-pipeline generate --format json`.' });
  }
}
