/**
 * Every failure ci-lib can report. Each is a small named class that carries its data and says
 * how to fix the problem; executables map them to exit codes in their one catch.
 */

export type EngexErrorCode =
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'IMMUTABLE_TAG_CONFLICT'
  | 'INFRASTRUCTURE'
  | 'POLICY_FAILED'
  | 'MANIFEST_INVALID';

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
