export interface RetryOptions {
  /** Total attempts, the first included. Default 4. */
  attempts: number;
  /** Delay cap before the 2nd attempt; doubles per attempt. Default 250 ms. */
  baseDelayMs: number;
  /** Upper bound of any single backoff delay. Default 5000 ms. */
  maxDelayMs: number;
  /**
   * The longest `Retry-After` we honour. A server asking for more is answered by giving up (and
   * reporting what it asked), never by retrying sooner than it asked. Default 30 s.
   */
  maxRetryAfterMs: number;
  /** Bound on the whole operation, attempts and waits included. Default 120 s. */
  totalMs: number;
  /** Injected so tests run instantly and deterministically. Default: a real timer. */
  sleep: (ms: number) => Promise<void>;
  /** Injected for the same reason. Default Math.random. */
  random: () => number;
  /** Milliseconds on any monotonic-enough clock; injected with `sleep`. Default Date.now. */
  now: () => number;
}

export const DEFAULT_RETRY: RetryOptions = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 5000,
  maxRetryAfterMs: 30_000,
  totalMs: 120_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  now: Date.now,
};

export function normalizeRetryOptions(options: Partial<RetryOptions> = {}): RetryOptions {
  const merged = { ...DEFAULT_RETRY, ...options };
  if (!Number.isInteger(merged.attempts) || merged.attempts < 1) throw new RangeError(`retry attempts must be a positive integer, got ${merged.attempts}`);
  for (const key of ['baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs', 'totalMs'] as const) {
    if (!Number.isFinite(merged[key]) || merged[key] < 0) throw new RangeError(`retry ${key} must be a non-negative number, got ${merged[key]}`);
  }
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

/**
 * Pure: an HTTP `Retry-After` value (delta seconds or an HTTP date) as milliseconds from `nowMs`;
 * undefined when absent or unreadable (the caller then backs off on its own).
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, nowMs: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Why `withRetry` stopped retrying a retryable error; callers may turn it into a clearer message. */
export type GiveUpReason = { kind: 'attempts' } | { kind: 'retry-after-too-long'; retryAfterMs: number } | { kind: 'out-of-time'; elapsedMs: number };

export interface WithRetryOptions extends RetryOptions {
  isRetryable: (error: unknown) => boolean;
  /** The server's own wait (429/503 `Retry-After`), in ms, when the error carries one. */
  retryAfterMs?: (error: unknown) => number | undefined;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Maps the last error when retrying stops for a bound (not for a non-retryable error). */
  onGiveUp?: (error: unknown, reason: GiveUpReason) => unknown;
}

/**
 * The one retry loop of ci-lib. Runs `fn` until it succeeds, `isRetryable` says no, the attempts
 * are used up, or the next wait would pass `totalMs`; rethrows the last error. A 429/503 waits
 * what the server asked (up to `maxRetryAfterMs`); anything else gets jittered backoff.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: WithRetryOptions): Promise<T> {
  const start = options.now();
  const giveUp = (error: unknown, reason: GiveUpReason): unknown => (options.onGiveUp ? options.onGiveUp(error, reason) : error);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!options.isRetryable(error)) throw error;
      if (attempt >= options.attempts) throw giveUp(error, { kind: 'attempts' });
      const asked = options.retryAfterMs?.(error);
      if (asked !== undefined && asked > options.maxRetryAfterMs) throw giveUp(error, { kind: 'retry-after-too-long', retryAfterMs: asked });
      const delay = asked ?? backoffDelay(attempt, options);
      const elapsed = options.now() - start;
      if (elapsed + delay >= options.totalMs) throw giveUp(error, { kind: 'out-of-time', elapsedMs: elapsed });
      options.onRetry?.(error, attempt, delay);
      await options.sleep(delay);
    }
  }
}
