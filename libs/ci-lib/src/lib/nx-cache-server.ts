import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { handle, reply } from './nx-cache-handler.js';
import { NX_CACHE_HASH, NxCacheConfigError, isLoopbackHost, planCacheRequest, type NxCacheTokens } from './nx-cache-protocol.js';
import { createFolderStorage, sweepSpool, type NxCacheStorage } from './nx-cache-storage.js';

// The Nx cache server: options, limits and lifecycle. What each request may do is decided in
// nx-cache-protocol.ts, and carried out in nx-cache-handler.ts.

export type { NxCacheTokens } from './nx-cache-protocol.js';

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
        authorization: req.headers.authorization,
        contentLength: req.headers['content-length'],
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
