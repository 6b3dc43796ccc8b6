import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EXIT_CODES, EngexError } from './errors.js';
import { checkNxArchiveFile } from './nx-cache-archive.js';
import { createFolderStorage, spoolName, sweepSpool, type NxCacheStorage } from './nx-cache-storage.js';

/**
 * A self-hosted Nx remote cache (Nx ≥ 20.8 `NX_SELF_HOSTED_REMOTE_CACHE_SERVER`), following Nx's
 * OpenAPI specification: `PUT /v1/cache/{hash}` (401, 403, 409 exists) and `GET /v1/cache/{hash}`
 * (200 tar, 403, 404), bearer tokens. One deliberate difference: a stored PUT is 200, not the
 * document's 202, because Nx's client (`http_remote_cache.rs`, `store`) accepts only 200, treats
 * anything else as an error and retries, and the retry meets 409. Entries are write-once: the fix
 * for CVE-2025-36852 (a build that may write must never replace what another build stored).
 */

/** Bearer tokens; none at all is an open cache, refused unless bound to loopback. */
export interface NxCacheTokens {
  /** May GET only (pull-request builds). */
  read?: string;
  /** May GET and PUT (trusted builds: the default branch). */
  write?: string;
}

export interface NxCacheServerOptions {
  /** Where entries are stored, one file per hash; created when missing. Ignored when `storage` is given. */
  dir?: string;
  /** Another backend (S3). Default: the folder `dir`. */
  storage?: NxCacheStorage;
  /** Folder backend: entries neither read nor written for this long are removed (checked at start, then every 1/4 of it, at most hourly). Default: never. */
  maxAgeMs?: number;
  /** Open connections at most; more wait in the kernel's backlog, then are dropped. Default 512. */
  maxConnections?: number;
  /** Open connections per client address. Default 64. */
  maxConnectionsPerIp?: number;
  /** A connection with no byte in either direction for this long is closed. Default 30 s. */
  idleTimeoutMs?: number;
  /** Time to send a whole response (a client that stops reading is cut). Default 5 min. */
  writeTimeoutMs?: number;
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
  /** Wall clock in ms, for the spool sweep and eviction ages. Default `Date.now`. */
  now?: () => number;
}

export interface NxCacheServer {
  /** `http://<host>:<port>`, for `NX_SELF_HOSTED_REMOTE_CACHE_SERVER`. */
  url: string;
  /** Where entries go, for the start-up line (`dir=<path>` or `s3://bucket/prefix/`). */
  storage: string;
  /** Stops accepting, lets in-flight requests finish (up to `closeTimeoutMs`), then resolves. */
  close(): Promise<void>;
}

export const NX_CACHE_DEFAULTS = {
  host: '127.0.0.1',
  maxBodyBytes: 2 * 1024 ** 3,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15 * 60_000,
  closeTimeoutMs: 10_000,
  maxConnections: 512,
  maxConnectionsPerIp: 64,
  idleTimeoutMs: 30_000,
  writeTimeoutMs: 5 * 60_000,
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

/** Starts the cache server; resolves once it listens. */
export async function startNxCacheServer(options: NxCacheServerOptions): Promise<NxCacheServer> {
  const host = options.host ?? NX_CACHE_DEFAULTS.host;
  const maxBodyBytes = options.maxBodyBytes ?? NX_CACHE_DEFAULTS.maxBodyBytes;
  const closeTimeoutMs = options.closeTimeoutMs ?? NX_CACHE_DEFAULTS.closeTimeoutMs;
  const headersTimeout = options.headersTimeoutMs ?? NX_CACHE_DEFAULTS.headersTimeoutMs;
  const requestTimeout = options.requestTimeoutMs ?? NX_CACHE_DEFAULTS.requestTimeoutMs;
  const perIp = options.maxConnectionsPerIp ?? NX_CACHE_DEFAULTS.maxConnectionsPerIp;
  const writeTimeoutMs = options.writeTimeoutMs ?? NX_CACHE_DEFAULTS.writeTimeoutMs;
  const log = options.log ?? (() => {});
  const clock = options.clock ?? (() => performance.now());
  const now = options.now ?? Date.now;
  const { tokens } = options;
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
  if (options.storage === undefined && options.dir === undefined) throw new NxCacheConfigError('The Nx cache needs a storage: --dir <path> or --s3-bucket <name>.');
  const folder = options.storage === undefined ? await createFolderStorage(options.dir!) : undefined;
  const storage: NxCacheStorage = options.storage ?? folder!;
  // Uploads cut off by a crash or kill: never published, so never served. Only dead ones go: another
  // server sharing this folder may be receiving into its own spool files right now.
  await sweepSpool(storage.spoolDir, requestTimeout, now());
  let evictTimer: NodeJS.Timeout | undefined;
  if (folder !== undefined && options.maxAgeMs !== undefined) {
    const maxAgeMs = options.maxAgeMs;
    const evict = () =>
      folder.evictOlderThan(maxAgeMs, now()).then(
        (n) => n > 0 && log(`nx-cache evicted ${n} entries unused for ${Math.round(maxAgeMs / 3_600_000)} h`),
        (error: unknown) => log(`nx-cache eviction failed: ${(error as Error).message}`),
      );
    await evict();
    evictTimer = setInterval(evict, Math.min(maxAgeMs / 4, 3_600_000));
    evictTimer.unref();
  }

  const server = createServer({
    headersTimeout,
    requestTimeout,
    // Node checks both timeouts on this interval (30 s by default), which is why slow headers used to
    // be cut at ~27 s instead of 10 s.
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersTimeout / 4))),
  });
  server.maxConnections = options.maxConnections ?? NX_CACHE_DEFAULTS.maxConnections;
  // A socket with no traffic either way (a stalled upload, a reader that stopped reading) is destroyed.
  server.timeout = options.idleTimeoutMs ?? NX_CACHE_DEFAULTS.idleTimeoutMs;
  server.keepAliveTimeout = Math.min(5_000, server.timeout);
  const perAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '?';
    const open = (perAddress.get(address) ?? 0) + 1;
    if (open > perIp) {
      // One client (or one attacker) may not take every slot: refuse at once, before any parsing.
      socket.destroy();
      return;
    }
    perAddress.set(address, open);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
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
    const handled = handle(decision, req, res, storage, log, writeTimeoutMs)
      .then(({ status, bytes }) => done(status, bytes))
      .catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException)?.code;
        // A full disk is the operator's to fix; say so with its own status (the agent's proxy turns
        // any of these into "not stored", never a failed build).
        if (!res.headersSent && !res.destroyed) {
          if (code === 'ENOSPC' || code === 'EDQUOT') reply(res, 507, 'Insufficient storage; nothing stored');
          else reply(res, 500, 'Internal error');
        } else res.destroy();
        done(res.headersSent ? res.statusCode : 500, 0);
        log(`nx-cache error: ${(error as Error)?.message ?? String(error)}`);
      })
      .finally(() => inFlight.delete(handled));
    inFlight.add(handled);
  });
  const url = await listenOn(server, host, options.port ?? 0);
  return {
    url,
    storage: storage.describe,
    close: () =>
      new Promise<void>((resolve) => {
        if (evictTimer) clearInterval(evictTimer);
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

/** Listens (rejecting on EADDRINUSE and the like) and resolves with `http://<host>:<port>`. */
export async function listenOn(server: Server, host: string, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : 0;
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
}

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): { status: number; bytes: number } {
  const body = `${message}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
  return { status, bytes: 0 };
}

async function handle(
  decision: CacheDecision,
  req: IncomingMessage,
  res: ServerResponse,
  storage: NxCacheStorage,
  log: (line: string) => void,
  writeTimeoutMs: number,
): Promise<{ status: number; bytes: number }> {
  if (decision.kind === 'reject') {
    // An unread upload body would otherwise be parsed as the next request: close the connection.
    if (req.method === 'PUT' || req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false;
    return reply(res, decision.status, decision.message, decision.headers);
  }
  if (decision.kind === 'get') {
    const entry = await storage.fetch(decision.hash);
    if (entry === undefined) return reply(res, 404, 'The record was not found');
    try {
      // Checked on every read: a damaged entry (bit rot, a partial copy, an old bad upload) is a
      // miss and is moved aside, never served again to fail another build.
      const verdict = await checkNxArchiveFile(entry.path);
      if (!verdict.ok) {
        await storage.quarantine(decision.hash);
        log(`nx-cache quarantined ${decision.hash.slice(0, 12)}: ${verdict.reason}`);
        return reply(res, 404, 'The record was not found');
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': entry.size });
      // A client that stops reading must not hold the socket and the file open for long.
      const writeTimer = setTimeout(() => res.destroy(new Error(`response not read within ${writeTimeoutMs} ms`)), writeTimeoutMs);
      writeTimer.unref();
      try {
        await pipeline(createReadStream(entry.path), res);
      } finally {
        clearTimeout(writeTimer);
      }
      return { status: 200, bytes: entry.size };
    } finally {
      await entry.release();
    }
  }
  // Cheap early answer; publish below is what really guarantees write-once.
  if (await storage.has(decision.hash)) {
    res.shouldKeepAlive = false;
    return reply(res, 409, 'Cannot override an existing record');
  }
  const temp = join(storage.spoolDir, spoolName(decision.hash));
  try {
    const received = await receive(req, temp, decision.length);
    if (received !== decision.length) {
      res.shouldKeepAlive = false;
      return reply(res, 400, `Body of ${received} bytes, Content-Length said ${decision.length}; nothing stored`);
    }
    const verdict = await checkNxArchiveFile(temp);
    if (!verdict.ok) return reply(res, 400, `Not an Nx cache archive: ${verdict.reason}; nothing stored`);
    const outcome = await storage.publish(decision.hash, temp, received);
    if (outcome === 'exists') return reply(res, 409, 'Cannot override an existing record');
    // 200, not the OpenAPI document's 202: Nx's client accepts only 200 (see the top of this file).
    reply(res, 200, 'Stored');
    return { status: 200, bytes: received };
  } finally {
    // Published or not, the temp name goes: a truncated or refused upload leaves nothing behind.
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
