import { describe, expect, it } from 'vitest';
import { normalizeRetryOptions, parseRetryAfter, withRetry, type GiveUpReason } from './retry.js';

class Busy extends Error {
  constructor(readonly retryAfterMs?: number) {
    super('busy');
  }
}

/** A clock that moves only when the retry loop sleeps. */
function clock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    options: normalizeRetryOptions({
      attempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      random: () => 0.5,
      sleep: async (ms) => void ((now += ms), sleeps.push(ms)),
      now: () => now,
    }),
  };
}

const opts = { isRetryable: (e: unknown) => e instanceof Busy, retryAfterMs: (e: unknown) => (e instanceof Busy ? e.retryAfterMs : undefined) };

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-30T10:00:00Z');
  it.each([
    ['0', 0],
    ['1', 1000],
    [' 120 ', 120_000],
    ['Mon, 30 Nov 2026 10:00:05 GMT', 5000],
    ['Mon, 30 Nov 2026 09:00:00 GMT', 0],
  ])('reads %j', (value, ms) => expect(parseRetryAfter(value, now)).toBe(ms));
  it.each([undefined, '', '-1', '1.5', 'soon', '12abc'])('ignores %j', (value) => expect(parseRetryAfter(value, now)).toBeUndefined());
  it('takes the first of repeated headers', () => expect(parseRetryAfter(['2', '9'], now)).toBe(2000));
});

describe('withRetry', () => {
  it('honours the server wait, and backs off with jitter otherwise', async () => {
    const { sleeps, options } = clock();
    let n = 0;
    const result = await withRetry(
      async () => {
        n++;
        if (n === 1) throw new Busy(3000);
        if (n <= 3) throw new Busy();
        return 'ok';
      },
      { ...options, ...opts },
    );
    expect(result).toBe('ok');
    expect(sleeps).toEqual([3000, 150, 300]);
  });

  it('bounds attempts', async () => {
    const { sleeps, options } = clock();
    const reasons: GiveUpReason[] = [];
    await expect(withRetry(async () => Promise.reject(new Busy()), { ...options, ...opts, onGiveUp: (e, r) => (reasons.push(r), e) })).rejects.toThrow('busy');
    expect(sleeps).toHaveLength(4);
    expect(reasons).toEqual([{ kind: 'attempts' }]);
  });

  it('bounds the total time, waits included', async () => {
    const { sleeps, options } = clock();
    const reasons: GiveUpReason[] = [];
    await expect(withRetry(async () => Promise.reject(new Busy(4000)), { ...options, ...opts, totalMs: 10_000, onGiveUp: (e, r) => (reasons.push(r), e) })).rejects.toThrow('busy');
    expect(sleeps).toEqual([4000, 4000]);
    expect(reasons).toEqual([{ kind: 'out-of-time', elapsedMs: 8000 }]);
  });

  it('refuses a Retry-After above the cap instead of retrying early', async () => {
    const { sleeps, options } = clock();
    const reasons: GiveUpReason[] = [];
    await expect(withRetry(async () => Promise.reject(new Busy(31_000)), { ...options, ...opts, onGiveUp: (e, r) => (reasons.push(r), e) })).rejects.toThrow('busy');
    expect(sleeps).toEqual([]);
    expect(reasons).toEqual([{ kind: 'retry-after-too-long', retryAfterMs: 31_000 }]);
  });

  it('never retries what isRetryable rejects', async () => {
    const { sleeps, options } = clock();
    await expect(withRetry(async () => Promise.reject(new Error('404')), { ...options, ...opts })).rejects.toThrow('404');
    expect(sleeps).toEqual([]);
  });

  it('rejects nonsense bounds', () => {
    expect(() => normalizeRetryOptions({ totalMs: -1 })).toThrow(/totalMs/);
    expect(() => normalizeRetryOptions({ attempts: 0 })).toThrow(/attempts/);
  });
});
