import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EXIT_CODES, EngexError } from './errors.js';

/**
 * A self-hosted Nx remote cache (Nx ≥ 20.8 `NX_SELF_HOSTED_REMOTE_CACHE_SERVER`), following Nx's
 * OpenAPI specification: `PUT /v1/cache/{hash}` (202 stored, 401, 403, 409 exists) and
 * `GET /v1/cache/{hash}` (200 tar, 403, 404), bearer tokens. Entries are write-once: the fix for
 * CVE-2025-36852 (a build that may write must never replace what another build stored).
 */

/** Bearer tokens; none at all is an open cache, refused unless bound to loopback. */
export interface NxCacheTokens {
  /** May GET only (pull-request builds). */
  read?: string;
  /** May GET and PUT (trusted builds: the default branch). */
  write?: string;
}

export interface NxCacheServerOptions {
  /** Where entries are stored, one file per hash; created when missing. */
  dir: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: a free port (read it back from `url`). */
  port?: number;
  tokens: NxCacheTokens;
  /** Largest upload accepted, in bytes. Default 2 GiB. */
  maxBodyBytes?: number;
  /** Time a client has to send the request headers. Default 10 s. */
  headersTimeoutMs?: number;
  /** Time a client has to send the whole request (a 2 GiB upload included). Default 15 min. */
  requestTimeoutMs?: number;
  /** Time `close()` lets in-flight requests finish before cutting them. Default 10 s. */
  closeTimeoutMs?: number;
  /** One line per request, never a token. Default: none. */
  log?: (line: string) => void;
  /** Milliseconds clock for the request durations. Default `performance.now`. */
  clock?: () => number;
}

export interface NxCacheServer {
  /** `http://<host>:<port>`, for `NX_SELF_HOSTED_REMOTE_CACHE_SERVER`. */
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to `closeTimeoutMs`), then resolves. */
  close(): Promise<void>;
}

export const NX_CACHE_DEFAULTS = {
  host: '127.0.0.1',
  maxBodyBytes: 2 * 1024 ** 3,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15 * 60_000,
  closeTimeoutMs: 10_000,
} as const;

/** Nx hashes are decimal (xxhash64) or hex strings; nothing else reaches the filesystem. */
export const NX_CACHE_HASH = /^[0-9a-f]{1,128}$/;

/** The server cannot start as configured (an open cache on a public address, a bad directory...). */
export class NxCacheConfigError extends EngexError {
  readonly code = 'NX_CACHE_CONFIG';
  readonly exitCode = EXIT_CODES.usage;
}

export type Access = 'none' | 'read' | 'write';

/** What a request may do. Constant-time comparison on digests, so a token's length is not leaked either. */
export function accessFor(authorization: string | undefined, tokens: NxCacheTokens): Access {
  if (tokens.read === undefined && tokens.write === undefined) return 'write';
  const match = /^Bearer ([^\s]+)$/i.exec(authorization?.trim() ?? '');
  if (!match) return 'none';
  const given = digest(match[1]!);
  if (tokens.write !== undefined && timingSafeEqual(given, digest(tokens.write))) return 'write';
  if (tokens.read !== undefined && timingSafeEqual(given, digest(tokens.read))) return 'read';
  return 'none';
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

export interface CacheRequest {
  method: string;
  /** The request target, e.g. `/v1/cache/123`. */
  url: string;
  authorization?: string;
  contentLength?: string;
}

export type CacheDecision =
  { kind: 'get'; hash: string } | { kind: 'put'; hash: string; length: number } | { kind: 'reject'; status: number; message: string; headers?: Record<string, string> };

/**
 * Pure: a request's method, path, token and declared length → what to do. Status codes are the
 * OpenAPI spec's: a PUT without a valid token is 401 and with a read token 403; a GET without a
 * valid token is 403 (the spec lists no 401 for GET).
 */
export function planCacheRequest(request: CacheRequest, tokens: NxCacheTokens, maxBodyBytes: number): CacheDecision {
  const path = request.url.split('?')[0]!;
  const match = /^\/v1\/cache\/([^/]*)$/.exec(path);
  if (!match) return { kind: 'reject', status: 404, message: 'Not found' };
  const hash = match[1]!;
  if (!NX_CACHE_HASH.test(hash)) return { kind: 'reject', status: 400, message: 'Invalid hash: expected 1-128 lowercase hex or decimal characters' };
  const access = accessFor(request.authorization, tokens);
  if (request.method === 'GET') {
    if (access === 'none') return { kind: 'reject', status: 403, message: 'Access forbidden' };
    return { kind: 'get', hash };
  }
  if (request.method === 'PUT') {
    if (access === 'none') return { kind: 'reject', status: 401, message: 'Missing or invalid authentication token' };
    if (access === 'read') return { kind: 'reject', status: 403, message: 'Access forbidden: this token may only read' };
    if (request.contentLength === undefined) return { kind: 'reject', status: 411, message: 'Content-Length is required' };
    if (!/^\d{1,16}$/.test(request.contentLength)) return { kind: 'reject', status: 400, message: 'Invalid Content-Length' };
    const length = Number(request.contentLength);
    if (length > maxBodyBytes) return { kind: 'reject', status: 413, message: `Body larger than the ${maxBodyBytes}-byte limit` };
    return { kind: 'put', hash, length };
  }
  return { kind: 'reject', status: 405, message: 'Method not allowed', headers: { Allow: 'GET, PUT' } };
}

/** Loopback addresses and `localhost`: the only places an open (tokenless) cache may listen. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

const TEMP_PREFIX = '.incoming-';

/** Starts the cache server; resolves once it listens. */
export async function startNxCacheServer(options: NxCacheServerOptions): Promise<NxCacheServer> {
  const host = options.host ?? NX_CACHE_DEFAULTS.host;
  const maxBodyBytes = options.maxBodyBytes ?? NX_CACHE_DEFAULTS.maxBodyBytes;
  const closeTimeoutMs = options.closeTimeoutMs ?? NX_CACHE_DEFAULTS.closeTimeoutMs;
  const log = options.log ?? (() => {});
  const clock = options.clock ?? (() => performance.now());
  const { tokens, dir } = options;
  if (tokens.read === undefined && tokens.write === undefined && !isLoopbackHost(host)) {
    throw new NxCacheConfigError(`Refusing an open Nx cache on ${host}: without tokens anyone who reaches it can read and poison it.`, {
      hint: 'Set ENGEX_NX_CACHE_WRITE_TOKEN (and ENGEX_NX_CACHE_READ_TOKEN for pull-request agents), or bind to 127.0.0.1.',
    });
  }
  for (const [name, value] of Object.entries(tokens)) {
    if (value !== undefined && !/^[\x21-\x7e]{16,}$/.test(value)) {
      throw new NxCacheConfigError(`The ${name} token must be at least 16 printable characters without spaces.`, { hint: 'Generate one with `openssl rand -hex 32`.' });
    }
  }
  if (tokens.read !== undefined && tokens.read === tokens.write) {
    throw new NxCacheConfigError('The read and write tokens are the same, so every reader could write.', { hint: 'Give pull-request agents their own read token.' });
  }
  await mkdir(dir, { recursive: true });
  // Uploads cut off by a crash or kill: never linked, so never served; remove them.
  for (const name of await readdir(dir)) if (name.startsWith(TEMP_PREFIX)) await unlink(join(dir, name)).catch(() => {});

  const server = createServer({
    headersTimeout: options.headersTimeoutMs ?? NX_CACHE_DEFAULTS.headersTimeoutMs,
    requestTimeout: options.requestTimeoutMs ?? NX_CACHE_DEFAULTS.requestTimeoutMs,
  });
  // Handlers still finishing (their access line is written after the response): close() waits for
  // them, so a stop never drops the line of a request the client already saw answered.
  const inFlight = new Set<Promise<void>>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = clock();
    const decision = planCacheRequest(
      {
        method: req.method ?? '',
        url: req.url ?? '',
        ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}),
        ...(req.headers['content-length'] !== undefined ? { contentLength: req.headers['content-length'] } : {}),
      },
      tokens,
      maxBodyBytes,
    );
    const hash = /^\/v1\/cache\/([^/?]*)/.exec(req.url ?? '')?.[1];
    const label = hash !== undefined && NX_CACHE_HASH.test(hash) ? `${hash.slice(0, 12)}${hash.length > 12 ? '…' : ''}` : '-';
    const done = (status: number, bytes: number) => log(`nx-cache ${req.method ?? '?'} ${label} ${status} ${bytes} B ${Math.round(clock() - started)} ms`);
    const handled = handle(decision, req, res, dir)
      .then(({ status, bytes }) => done(status, bytes))
      .catch((error: unknown) => {
        // The client went away or the disk failed: nothing was stored; say so once, without details to the client.
        if (!res.headersSent) reply(res, 500, 'Internal error');
        else res.destroy();
        done(res.headersSent ? res.statusCode : 500, 0);
        log(`nx-cache error: ${(error as Error)?.message ?? String(error)}`);
      })
      .finally(() => inFlight.delete(handled));
    inFlight.add(handled);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), closeTimeoutMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          void Promise.allSettled([...inFlight]).then(() => resolve());
        });
        server.closeIdleConnections();
      }),
  };
}

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): { status: number; bytes: number } {
  const body = `${message}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
  return { status, bytes: 0 };
}

async function handle(decision: CacheDecision, req: IncomingMessage, res: ServerResponse, dir: string): Promise<{ status: number; bytes: number }> {
  if (decision.kind === 'reject') {
    // An unread upload body would otherwise be parsed as the next request: close the connection.
    if (req.method === 'PUT' || req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false;
    return reply(res, decision.status, decision.message, decision.headers);
  }
  const file = join(dir, decision.hash);
  if (decision.kind === 'get') {
    const size = await stat(file).then(
      (s) => s.size,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)),
    );
    if (size === undefined) return reply(res, 404, 'The record was not found');
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
    await pipeline(createReadStream(file), res);
    return { status: 200, bytes: size };
  }
  // Cheap early answer; the link below is what really guarantees write-once.
  if (await exists(file)) {
    res.shouldKeepAlive = false;
    return reply(res, 409, 'Cannot override an existing record');
  }
  const temp = join(dir, `${TEMP_PREFIX}${decision.hash}-${randomBytes(6).toString('hex')}`);
  try {
    const received = await receive(req, temp, decision.length);
    if (received !== decision.length) {
      res.shouldKeepAlive = false;
      return reply(res, 400, `Body of ${received} bytes, Content-Length said ${decision.length}; nothing stored`);
    }
    // link(2) never replaces an existing name: of two concurrent uploads exactly one wins.
    const won = await link(temp, file).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? false : Promise.reject(error)),
    );
    if (!won) return reply(res, 409, 'Cannot override an existing record');
    reply(res, 202, 'Stored');
    return { status: 202, bytes: received };
  } finally {
    // Linked or not, the temp name goes: a truncated or refused upload leaves nothing behind.
    await unlink(temp).catch(() => {});
  }
}

/** Streams the body into `temp` (synced to disk); returns the bytes received, stopping past `length`. */
async function receive(req: IncomingMessage, temp: string, length: number): Promise<number> {
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > length) callback(new Error(`body longer than its Content-Length ${length}`));
      else callback(null, chunk);
    },
  });
  await pipeline(req, counter, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
  // On disk before it becomes visible: a crash must not leave a short entry under a final name.
  const file = await open(temp, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
  return received;
}

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  );
