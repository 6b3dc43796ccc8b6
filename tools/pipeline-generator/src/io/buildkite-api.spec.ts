import { describe, expect, it } from 'vitest';
import { startFaultServer, type FaultBehaviour } from '@engex/ci-lib/testing';
import { nodeHttpGet, readLastPassedCommit, type BuildkiteApiOptions, type HttpGet } from './buildkite-api.js';
import { BuildkiteApiError } from '../core/errors.js';

const api = { token: 'bkua_secret', organization: 'acme', pipeline: 'halow' };
const SHA = 'f'.repeat(40);

function fake(status: number, body: unknown): HttpGet & { calls: { url: string; headers: Readonly<Record<string, string>> }[] } {
  const calls: { url: string; headers: Readonly<Record<string, string>> }[] = [];
  const get: HttpGet = async (url, headers) => {
    calls.push({ url, headers });
    return { status, body };
  };
  return Object.assign(get, { calls });
}

describe('readLastPassedCommit', () => {
  it('asks for the newest passed build of the branch, with a bearer token', async () => {
    const http = fake(200, [{ commit: SHA, state: 'passed' }]);
    expect(await readLastPassedCommit(http, api, 'release/1.x')).toBe(SHA);
    expect(http.calls).toEqual([
      {
        url: 'https://api.buildkite.com/v2/organizations/acme/pipelines/halow/builds?branch=release%2F1.x&state=passed&per_page=1',
        headers: { Authorization: 'Bearer bkua_secret', Accept: 'application/json' },
      },
    ]);
  });

  it('returns undefined when the branch has no passed build yet', async () => {
    expect(await readLastPassedCommit(fake(200, []), api, 'main')).toBeUndefined();
  });

  it('fails with a named error on HTTP errors and odd bodies, never leaking the token', async () => {
    for (const [status, body] of [
      [401, { message: 'Unauthorized' }],
      [200, { builds: [] }],
      [200, [{ commit: 'HEAD' }]],
    ] as const) {
      const error = await readLastPassedCommit(fake(status, body), api, 'main').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BuildkiteApiError);
      expect((error as Error).message).not.toContain('bkua_secret');
    }
  });

  it('wraps network failures', async () => {
    const http: HttpGet = async () => {
      throw new Error('ECONNRESET');
    };
    await expect(readLastPassedCommit(http, api, 'main')).rejects.toThrow(/Buildkite API request failed: ECONNRESET/);
  });
});

// The real client (ci-lib's httpRequest + withRetry) against a loopback server that misbehaves.
describe('readLastPassedCommit against a faulty server', { timeout: 30_000 }, () => {
  const ok = { kind: 'ok', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify([{ commit: SHA }]) } as const;

  async function against(behaviours: FaultBehaviour[], options: BuildkiteApiOptions = {}) {
    const server = await startFaultServer({ behaviours, lifetimeMs: 15_000 });
    const started = Date.now();
    try {
      const result = await readLastPassedCommit(nodeHttpGet, api, 'main', { baseUrl: server.url, deadlineMs: 2_000, ...options }).catch((e: unknown) => e);
      return { result, ms: Date.now() - started, requests: server.requests, host: server.host };
    } finally {
      await server.close();
    }
  }

  it('honours 429 Retry-After: 1, then answers', async () => {
    const r = await against([{ kind: 'status', status: 429, retryAfter: '1' }, ok], { deadlineMs: 5_000 });
    expect(r.result).toBe(SHA);
    expect(r.requests).toHaveLength(2);
    expect(r.ms).toBeGreaterThanOrEqual(950);
  });

  it('retries a 503 and a reset connection', async () => {
    const r = await against([{ kind: 'status', status: 503 }, { kind: 'reset' }, ok]);
    expect(r.result).toBe(SHA);
    expect(r.requests).toHaveLength(3);
  });

  it.each([
    ['hangs', { kind: 'hang' }],
    ['drips one byte at a time', { kind: 'drip', intervalMs: 100 }],
  ] as const)('a server that %s is cut off at the overall deadline, naming operation, host and wait', async (_what, behaviour) => {
    const r = await against([behaviour]);
    expect(r.result).toBeInstanceOf(BuildkiteApiError);
    const message = (r.result as Error).message;
    expect(message).toContain(`Buildkite API GET last passed build of "main" on ${r.host} did not finish within its 2 s deadline (waited 2.`);
    expect(message).not.toContain('bkua_secret');
    // No wall-clock bound here: the client's own measured wait is in the message above, and a
    // client that never gave up would fail on the suite's timeout; a loaded machine only adds delay.
  });

  it('gives up when the server keeps throttling: bounded attempts, exit 4', async () => {
    const r = await against([{ kind: 'status', status: 503 }], { retry: { baseDelayMs: 10, maxDelayMs: 20 } });
    expect(r.result).toBeInstanceOf(BuildkiteApiError);
    expect((r.result as BuildkiteApiError).exitCode).toBe(4);
    expect((r.result as Error).message).toMatch(/answered HTTP 503 after 4 attempt\(s\)/);
    expect(r.requests).toHaveLength(4);
  });

  it('a Retry-After longer than the deadline is not waited out', async () => {
    const r = await against([{ kind: 'status', status: 429, retryAfter: '10' }, ok]);
    expect(r.result).toBeInstanceOf(BuildkiteApiError);
    expect(r.requests).toHaveLength(1);
    // It gives up at once instead of sleeping 10 s into a 2 s deadline: the wait it reports is under the deadline.
    expect((r.result as Error).message).toMatch(/within its 2 s deadline \(waited [01]\.\d s\)/);
  });
});
