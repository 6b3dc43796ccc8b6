import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { createFolderStorage, planSpoolSweep } from './nx-cache-storage.js';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeNxArchive } from '../testing/nx-archive.js';
import { NxCacheConfigError, accessFor, isLoopbackHost, planCacheRequest } from './nx-cache-protocol.js';
import { startNxCacheServer, type NxCacheServer } from './nx-cache-server.js';

const READ = 'read-token-0123456789abcdef';
const WRITE = 'write-token-0123456789abcdef';
const TOKENS = { read: READ, write: WRITE };
/** A small, valid archive of the shape Nx uploads, told apart by its terminal output. */
const entry = (tag: string) => makeNxArchive({ files: { 'out/result.txt': tag }, terminalOutput: tag });

describe('planCacheRequest', () => {
  const plan = (method: string, url: string, authorization?: string, contentLength?: string) => planCacheRequest({ method, url, authorization, contentLength }, TOKENS, 1000);

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

  it('stores with the write token (200, what Nx accepts), serves with the read token, and never replaces an entry (409)', async () => {
    const url = await start();
    const first = entry('first');
    expect((await get(url, '42')).status).toBe(404);
    expect((await put(url, '42', first, READ)).status).toBe(403);
    expect((await put(url, '42', first)).status).toBe(200);
    const hit = await get(url, '42');
    expect([hit.status, hit.headers.get('content-type'), Buffer.from(await hit.arrayBuffer()).equals(first)]).toEqual([200, 'application/octet-stream', true]);
    const again = await put(url, '42', entry('poisoned'));
    expect([again.status, await again.text()]).toEqual([409, 'Cannot override an existing record\n']);
    expect(Buffer.from(await (await get(url, '42')).arrayBuffer()).equals(first)).toBe(true);
    expect(await readdir(join(dir, 'store'))).toEqual(['42']);
    await waitFor(() => lines.length === 6);
    // A GET is logged once its file is streamed, possibly after the client moved on: compare unordered.
    const n = first.length;
    expect(lines.map((l) => l.replace(/ \d+ ms$/, ' <ms> ms')).sort()).toEqual([
      `nx-cache GET 42 200 ${n} B <ms> ms`,
      `nx-cache GET 42 200 ${n} B <ms> ms`,
      'nx-cache GET 42 404 0 B <ms> ms',
      `nx-cache PUT 42 200 ${n} B <ms> ms`,
      'nx-cache PUT 42 403 0 B <ms> ms',
      'nx-cache PUT 42 409 0 B <ms> ms',
    ]);
    expect(lines.join('\n')).not.toContain('token');
  });

  it('lets exactly one of many concurrent uploads of a hash win', async () => {
    const url = await start();
    const bodies = Array.from({ length: 8 }, (_, i) => entry(`candidate ${i} `.repeat(20_000)));
    const statuses = await Promise.all(bodies.map((b) => put(url, 'abc', b).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    const stored = await readFile(join(dir, 'store', 'abc'));
    expect(bodies[statuses.indexOf(200)]!.equals(stored)).toBe(true);
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
    expect((await put(url, '77', entry('complete'))).status).toBe(200);
  });

  it('refuses bodies over the limit and uploads without Content-Length', async () => {
    const body = entry('limit');
    const url = await start({ maxBodyBytes: body.length });
    expect((await put(url, '5', Buffer.concat([body, Buffer.alloc(1)]))).status).toBe(413);
    expect((await put(url, '5', body)).status).toBe(200);
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
    expect((await fetch(`${url}/v1/cache/9`, { method: 'PUT', body: entry('open') })).status).toBe(200);
  });

  it('removes uploads a killed server left half-written, and only those', async () => {
    const store = join(dir, 'store');
    await start();
    await server!.close();
    const host = hostname().replace(/[^A-Za-z0-9.]/g, '_');
    // A pid that is certainly gone: a child that already exited.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(join(store, `.incoming-${host}-${dead}-42-abcdefabcdef`), 'half');
    await writeFile(join(store, `.incoming-${host}-${process.ppid}-43-abcdefabcdef`), 'a live server on this host');
    await writeFile(join(store, `.incoming-other-host-1-44-abcdefabcdef`), 'another host, still uploading');
    await writeFile(join(store, '.incoming-12-abcdef'), 'ancient');
    await utimes(join(store, '.incoming-12-abcdef'), new Date(0), new Date(0));
    await start();
    expect((await readdir(store)).sort()).toEqual([`.incoming-${host}-${process.ppid}-43-abcdefabcdef`, '.incoming-other-host-1-44-abcdefabcdef'].sort());
  });

  it("does not kill another server's upload when it starts on the same folder", async () => {
    const store = join(dir, 'store');
    const url = await start();
    const body = entry('slow upload');
    const { port } = new URL(url);
    // Server A receives half an upload...
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text));
    });
    socket.write(`PUT /v1/cache/99 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WRITE}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    socket.write(body.subarray(0, 10));
    await waitFor(() => readdirSync(store).some((n) => n.startsWith('.incoming-')));
    // ...while server B starts on the same folder and sweeps.
    const other = await startNxCacheServer({ dir: store, tokens: TOKENS, closeTimeoutMs: 1000 });
    socket.write(body.subarray(10));
    expect(await answer, lines.join('\n')).toMatch(/^HTTP\/1\.1 200 /);
    expect(Buffer.from(await (await get(other.url, '99')).arrayBuffer()).equals(body)).toBe(true);
    await other.close();
  });

  it('refuses what is not an Nx archive with 400 and stores nothing (an empty upload poisoned a hash forever)', async () => {
    const url = await start();
    const valid = entry('ok');
    const tarOnly = gunzipSync(valid);
    const noCode = makeNxArchive({ terminalOutput: 'x' }).length; // sanity: the builder makes a code entry
    expect(noCode).toBeGreaterThan(0);
    const bad: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['text', Buffer.from('not a tar')],
      ['plain tar, not gzip', tarOnly],
      ['truncated gzip', valid.subarray(0, valid.length - 10)],
      ['gzip of garbage', gzipSync(Buffer.from('x'.repeat(2000)))],
      ['gzip of a tar cut short', gzipSync(tarOnly.subarray(0, 1024))],
      ['gzip of an empty tar', gzipSync(Buffer.alloc(1024))],
      ['no code entry', gzipSync(tarOnly.subarray(0, 1536))],
    ];
    for (const [name, body] of bad) {
      const response = await put(url, '31', body);
      expect([name, response.status], await response.text()).toEqual([name, 400]);
    }
    expect(await readdir(join(dir, 'store'))).toEqual([]);
    expect((await put(url, '31', valid)).status).toBe(200);
  });

  it('treats an entry that fails to read back as a miss and quarantines it', async () => {
    const url = await start();
    await put(url, '64', entry('soon damaged'));
    await writeFile(join(dir, 'store', '64'), Buffer.alloc(0));
    expect((await get(url, '64')).status).toBe(404);
    expect(await readdir(join(dir, 'store'))).toEqual(['.quarantine']);
    expect(lines.some((l) => l.startsWith('nx-cache quarantined 64: empty body'))).toBe(true);
    // The hash is free again: the next good upload is stored and served.
    expect((await put(url, '64', entry('good'))).status).toBe(200);
    expect((await get(url, '64')).status).toBe(200);
  });

  it('answers a full disk with 507 and stores nothing', async () => {
    const full = await createFolderStorage(join(dir, 'full'));
    const storage = { ...full, publish: () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })) };
    const url = await start({ storage });
    const response = await put(url, '7', entry('x'));
    expect([response.status, await response.text()]).toEqual([507, 'Insufficient storage; nothing stored\n']);
    expect(await readdir(join(dir, 'full'))).toEqual([]);
  });

  it('closes connections of clients that stop reading a response (20 such GETs stayed open 75 s)', async () => {
    const big = makeNxArchive({ files: { 'big.bin': randomBytes(16 * 1024 * 1024) } });
    const url = await start({ writeTimeoutMs: 1_000, idleTimeoutMs: 1_000 });
    expect((await put(url, '5a', big)).status).toBe(200);
    const { port } = new URL(url);
    const received = await Promise.all(
      Array.from({ length: 20 }, () => {
        let bytes = 0;
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(`GET /v1/cache/5a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${READ}\r\n\r\n`);
          // Read nothing for 4 s: the response stalls in the socket buffers.
          socket.pause();
          setTimeout(() => socket.resume(), 4_000);
        });
        socket.on('data', (d: Buffer) => (bytes += d.length));
        socket.on('error', () => {});
        return new Promise<{ closed: boolean; bytes: number }>((resolve) => {
          const give = setTimeout(() => {
            socket.destroy();
            resolve({ closed: false, bytes });
          }, 15_000);
          socket.on('close', () => {
            clearTimeout(give);
            resolve({ closed: true, bytes });
          });
        });
      }),
    );
    // The server gave up on each stalled response: the connection ended before the whole entry.
    expect(received.every((r) => r.closed && r.bytes < big.length)).toBe(true);
  });

  it('evicts entries unused for --max-age', async () => {
    const store = join(dir, 'store');
    let url = await start();
    await put(url, '1', entry('old'));
    await put(url, '2', entry('recent'));
    await server!.close();
    const old = new Date(Date.now() - 3 * 86_400_000);
    await utimes(join(store, '1'), old, old);
    url = await start({ maxAgeMs: 2 * 86_400_000 });
    expect(await readdir(store)).toEqual(['2']);
    expect((await get(url, '1')).status).toBe(404);
  });
});

describe('planSpoolSweep', () => {
  it('removes a spool file only when its process on this host is gone, or it outlived any request', () => {
    const now = 10_000_000;
    const entries = [
      { name: '.incoming-h1-10-ab-aaaaaaaaaaaa', mtimeMs: now },
      { name: '.incoming-h1-11-ab-aaaaaaaaaaaa', mtimeMs: now },
      { name: '.incoming-h2-10-ab-aaaaaaaaaaaa', mtimeMs: now },
      { name: '.incoming-h2-12-ab-aaaaaaaaaaaa', mtimeMs: now - 2_000_000 },
      { name: '42', mtimeMs: 0 },
    ];
    expect(planSpoolSweep(entries, { nowMs: now, host: 'h1', requestTimeoutMs: 900_000, isAlive: (pid) => pid === 11 })).toEqual([
      '.incoming-h1-10-ab-aaaaaaaaaaaa',
      '.incoming-h2-12-ab-aaaaaaaaaaaa',
    ]);
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
