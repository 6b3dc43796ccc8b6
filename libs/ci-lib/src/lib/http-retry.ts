import { DEADLINE_CODE, TRANSIENT_CODES, TransportError } from './http-request.js';
import { parseRetryAfter, withRetry, type RetryOptions } from './retry.js';

/** An answer worth a bounded retry: 429/503 (with the server's Retry-After) and other 5xx. */
export class RetryableStatus extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}${retryAfterMs !== undefined ? ` (Retry-After ${Math.round(retryAfterMs / 1000)} s)` : ''}`);
  }
}

export interface SendWithRetryOptions {
  /** Attempts, backoff and clock; `totalMs` is the overall deadline. */
  retry: RetryOptions;
  /** The error for a deadline that ran out, whether in a wait or inside a request. */
  outOfTime: (cause: unknown) => Error;
}

/**
 * One API read within one overall deadline: `send` gets what is left of it for the whole
 * exchange; 429/503 (honouring Retry-After), other 5xx and transient network errors are retried.
 * The last RetryableStatus is thrown when the attempts run out; the caller names it.
 */
export async function sendWithRetry<R extends { status: number; headers?: Readonly<Record<string, string | string[] | undefined>> }>(
  send: (timeoutMs: number) => Promise<R>,
  options: SendWithRetryOptions,
): Promise<R> {
  const { retry } = options;
  const started = retry.now();
  try {
    return await withRetry(
      async () => {
        const r = await send(Math.max(1, retry.totalMs - (retry.now() - started)));
        if (r.status === 429 || r.status === 503) throw new RetryableStatus(r.status, parseRetryAfter(r.headers?.['retry-after'], retry.now()));
        if (r.status >= 500) throw new RetryableStatus(r.status, undefined);
        return r;
      },
      {
        ...retry,
        isRetryable: (error) => error instanceof RetryableStatus || (error instanceof TransportError && TRANSIENT_CODES.has(error.code)),
        retryAfterMs: (error) => (error instanceof RetryableStatus ? error.retryAfterMs : undefined),
        onGiveUp: (error, reason) => (reason.kind === 'out-of-time' ? options.outOfTime(error) : error),
      },
    );
  } catch (error) {
    if (error instanceof TransportError && error.code === DEADLINE_CODE) throw options.outOfTime(error);
    throw error;
  }
}
