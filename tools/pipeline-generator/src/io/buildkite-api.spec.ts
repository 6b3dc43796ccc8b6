import { describe, expect, it } from 'vitest';
import { readLastPassedCommit, type HttpGet } from './buildkite-api.js';
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
    for (const [status, body] of [[401, { message: 'Unauthorized' }], [200, { builds: [] }], [200, [{ commit: 'HEAD' }]]] as const) {
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
