import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NxCacheConfigError, accessFor, isLoopbackHost, planCacheRequest, startNxCacheServer, type NxCacheServer } from './nx-cache-server.js';

const READ = 'read-token-0123456789abcdef';
const WRITE = 'write-token-0123456789abcdef';
const TOKENS = { read: READ, write: WRITE };

describe('planCacheRequest', () => {
  const plan = (method: string, url: string, authorization?: string, contentLength?: string) =>
    planCacheRequest({ method, url, ...(authorization ? { authorization } : {}), ...(contentLength !== undefined ? { contentLength } : {}) }, TOKENS, 1000);

  it('follows the OpenAPI spec for every token on GET and PUT', () => {
    const matrix = [undefined, 'Bearer wrong-token-xxxxxxxxxxxx', `Bearer ${READ}`, `Bearer ${WRITE}`, `Basic ${WRITE}`].map((auth) => [
      auth?.replace(/-0123456789abcdef$/, '') ?? '(none)',
      statusOf(plan('GET', '/v1/cache/123', auth)),
      statusOf(plan('PUT', '/v1/cache/123', auth, '10')),
    ]);
    expect(matrix).toEqual([
      ['(none)', 403, 401],
      ['Bearer wrong-token-xxxxxxxxxxxx', 403, 401],
      ['Bearer read-token', 'get', 403],
      ['Bearer write-token', 'get', 'put'],
      ['Basic write-token', 403, 401],
    ]);
  });

  it('refuses hashes outside the hex/decimal alphabet, so no path reaches outside the directory', () => {
    for (const url of ['/v1/cache/..', '/v1/cache/%2e%2e%2fetc', '/v1/cache/ABC', '/v1/cache/', `/v1/cache/${'1'.repeat(129)}`, '/v1/cache/12 3']) {
      expect(plan('GET', url, `Bearer ${WRITE}`), url).toMatchObject({ kind: 'reject', status: 400 });
    }
    expect(plan('GET', '/v1/cache/../../etc/passwd', `Bearer ${WRITE}`)).toMatchObject({ status: 404 });
    expect(plan('GET', `/v1/cache/${'f'.repeat(128)}?x=1`, `Bearer ${WRITE}`)).toEqual({ kind: 'get', hash: 'f'.repeat(128) });
  });

  it('requires a plain Content-Length within the limit on PUT', () => {
    const auth = `Bearer ${WRITE}`;
    expect(plan('PUT', '/v1/cache/1', auth)).toMatchObject({ status: 411 });
    expect(plan('PUT', '/v1/cache/1', auth, '1e3')).toMatchObject({ status: 400 });
    expect(plan('PUT', '/v1/cache/1', auth, '1001')).toMatchObject({ status: 413 });
    expect(plan('PUT', '/v1/cache/1', auth, '1000')).toEqual({ kind: 'put', hash: '1', length: 1000 });
    expect(plan('DELETE', '/v1/cache/1', auth)).toMatchObject({ status: 405, headers: { Allow: 'GET, PUT' } });
  });

  it('is open to everyone only when no token is configured', () => {
    expect(accessFor(undefined, {})).toBe('write');
    expect(accessFor(undefined, { write: WRITE })).toBe('none');
    expect(accessFor(`Bearer ${READ}`, { write: WRITE })).toBe('none');
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost', '0.0.0.0', '::', '10.0.0.1'].map(isLoopbackHost)).toEqual([true, true, true, true, false, false, false]);
  });
});

function statusOf(decision: ReturnType<typeof planCacheRequest>): number | string {
  return decision.kind === 'reject' ? decision.status : decision.kind;
}

describe('startNxCacheServer', () => {
  let dir: string;
  let server: NxCacheServer | undefined;
  let lines: string[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engex-nx-cache-'));
    lines = [];
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });
  const start = async (options: Partial<Parameters<typeof startNxCacheServer>[0]> = {}) => {
    server = await startNxCacheServer({ dir: join(dir, 'store'), tokens: TOKENS, log: (l) => lines.push(l), closeTimeoutMs: 1000, ...options });
    return server.url;
  };
  const put = (url: string, hash: string, body: Buffer | string, token = WRITE) =>
    fetch(`${url}/v1/cache/${hash}`, { method: 'PUT', body, headers: { Authorization: `Bearer ${token}` } });
  const get = (url: string, hash: string, token = READ) => fetch(`${url}/v1/cache/${hash}`, { headers: { Authorization: `Bearer ${token}` } });

  it('stores with the write token, serves with the read token, and never replaces an entry (409)', async () => {
    const url = await start();
    expect((await get(url, '42')).status).toBe(404);
    expect((await put(url, '42', 'first tar', READ)).status).toBe(403);
    expect((await put(url, '42', 'first tar')).status).toBe(202);
    const hit = await get(url, '42');
    expect([hit.status, hit.headers.get('content-type'), await hit.text()]).toEqual([200, 'application/octet-stream', 'first tar']);
    const again = await put(url, '42', 'poisoned tar');
    expect([again.status, await again.text()]).toEqual([409, 'Cannot override an existing record\n']);
    expect(await (await get(url, '42')).text()).toBe('first tar');
    expect(await readdir(join(dir, 'store'))).toEqual(['42']);
    await waitFor(() => lines.length === 6);
    // A GET is logged once its file is streamed, possibly after the client moved on: compare unordered.
    expect(lines.map((l) => l.replace(/ \d+ ms$/, ' <ms> ms')).sort()).toEqual([
      'nx-cache GET 42 200 9 B <ms> ms',
      'nx-cache GET 42 200 9 B <ms> ms',
      'nx-cache GET 42 404 0 B <ms> ms',
      'nx-cache PUT 42 202 9 B <ms> ms',
      'nx-cache PUT 42 403 0 B <ms> ms',
      'nx-cache PUT 42 409 0 B <ms> ms',
    ]);
    expect(lines.join('\n')).not.toContain('token');
  });

  it('lets exactly one of many concurrent uploads of a hash win', async () => {
    const url = await start();
    const bodies = Array.from({ length: 8 }, (_, i) => `candidate ${i} `.repeat(20_000));
    const statuses = await Promise.all(bodies.map((b) => put(url, 'abc', b).then((r) => r.status)));
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    const stored = await readFile(join(dir, 'store', 'abc'), 'utf8');
    expect(bodies[statuses.indexOf(202)]).toBe(stored);
    expect(await readdir(join(dir, 'store'))).toEqual(['abc']);
  });

  it('stores nothing from a truncated upload', async () => {
    const url = await start();
    const { port } = new URL(url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`PUT /v1/cache/77 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WRITE}\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(400)}`);
        // The agent dies mid-upload.
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
      socket.on('error', reject);
    });
    await waitFor(() => lines.length > 0);
    expect((await get(url, '77')).status).toBe(404);
    expect(await readdir(join(dir, 'store'))).toEqual([]);
    // A whole upload of that hash still works afterwards.
    expect((await put(url, '77', 'complete')).status).toBe(202);
  });

  it('refuses bodies over the limit and uploads without Content-Length', async () => {
    const url = await start({ maxBodyBytes: 10 });
    expect((await put(url, '5', 'x'.repeat(11))).status).toBe(413);
    expect((await put(url, '5', 'x'.repeat(10))).status).toBe(202);
    const chunked = await rawRequest(url, `PUT /v1/cache/6 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WRITE}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
    expect(chunked).toMatch(/^HTTP\/1\.1 411 /);
    expect(await readdir(join(dir, 'store'))).toEqual(['5']);
  });

  it('keeps traversal attempts away from the filesystem', async () => {
    await writeFile(join(dir, 'secret'), 'outside');
    const url = await start();
    for (const path of ['/v1/cache/..%2fsecret', '/v1/cache/%2e%2e', '/v1/cache/../secret']) {
      const answer = await rawRequest(url, `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${READ}\r\nConnection: close\r\n\r\n`);
      expect(answer, path).toMatch(/^HTTP\/1\.1 40[04] /);
      expect(answer).not.toContain('outside');
    }
  });

  it('refuses to run open on a non-loopback address, and weak or shared tokens', async () => {
    await expect(startNxCacheServer({ dir, host: '0.0.0.0', tokens: {} })).rejects.toThrow(NxCacheConfigError);
    await expect(startNxCacheServer({ dir, tokens: { write: 'short' } })).rejects.toThrow(/at least 16 printable/);
    await expect(startNxCacheServer({ dir, tokens: { read: WRITE, write: WRITE } })).rejects.toThrow(/same/);
    const url = await start({ tokens: {} });
    expect((await fetch(`${url}/v1/cache/9`, { method: 'PUT', body: 'open' })).status).toBe(202);
  });

  it('removes uploads a killed server left half-written', async () => {
    const store = join(dir, 'store');
    await start();
    await server!.close();
    await writeFile(join(store, '.incoming-12-abcdef'), 'half');
    await start();
    expect(await readdir(store)).toEqual([]);
  });
});

async function rawRequest(url: string, request: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(request));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      answer += d;
      if (/\r\n\r\n/.test(answer)) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
