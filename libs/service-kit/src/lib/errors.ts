/** One bad environment variable: which, what it held, and what would have been accepted. */
export interface EnvIssue {
  variable: string;
  /** The raw value, as found in the environment. */
  value: string;
  /** What is allowed, phrased to complete "expected ...". */
  expected: string;
}

/** Startup refused: at least one environment variable is invalid. Lists all of them at once. */
export class ServiceConfigError extends Error {
  readonly code = 'SERVICE_CONFIG_INVALID';
  constructor(readonly issues: readonly EnvIssue[]) {
    super(
      `Invalid service configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${i.variable}=${JSON.stringify(i.value)}: expected ${i.expected}`).join('\n') +
        '\nSet the variables above to an allowed value (or unset them to use the default) and start again.',
    );
    this.name = this.constructor.name;
  }
}

/** A programming mistake in a service definition (not the environment): fix the code. */
export class ServiceDefinitionError extends Error {
  readonly code = 'SERVICE_DEFINITION_INVALID';
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

/** The server could not bind (port taken, address not available, no permission). */
export class ServiceStartError extends Error {
  readonly code = 'SERVICE_START_FAILED';
  constructor(
    readonly host: string,
    readonly port: number,
    cause: unknown,
  ) {
    super(`Cannot listen on ${host}:${port}: ${cause instanceof Error ? cause.message : String(cause)}. ` + 'Free the port or set PORT/HOST to an address this process may bind.', {
      cause,
    });
    this.name = this.constructor.name;
  }
}
