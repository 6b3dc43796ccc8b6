export interface RetryOptions {
  /** Total attempts, the first included. Default 4. */
  attempts: number;
  /** Delay cap before the 2nd attempt; doubles per attempt. Default 250 ms. */
  baseDelayMs: number;
  /** Upper bound of any single delay. Default 5000 ms. */
  maxDelayMs: number;
  /** Injected so tests run instantly and deterministically. Default: a real timer. */
  sleep: (ms: number) => Promise<void>;
  /** Injected for the same reason. Default Math.random. */
  random: () => number;
}

export const DEFAULT_RETRY: RetryOptions = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 5000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export function normalizeRetryOptions(options: Partial<RetryOptions> = {}): RetryOptions {
  const merged = { ...DEFAULT_RETRY, ...options };
  if (!Number.isInteger(merged.attempts) || merged.attempts < 1) throw new RangeError(`retry attempts must be a positive integer, got ${merged.attempts}`);
  return merged;
}

/**
 * "Equal jitter": half the exponential cap plus a random half. Retrying jobs spread out (a fleet of
 * agents retrying in lockstep is what turns a registry blip into an outage) but never retry at once.
 */
export function backoffDelay(retryNumber: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, retryNumber - 1));
  return Math.round(cap / 2 + options.random() * (cap / 2));
}

/** Runs `fn` until it succeeds, `isRetryable` says no, or the attempts are used up; rethrows the last error. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions & {
    isRetryable: (error: unknown) => boolean;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !options.isRetryable(error)) throw error;
      const delay = backoffDelay(attempt, options);
      options.onRetry?.(error, attempt, delay);
      await options.sleep(delay);
    }
  }
}
