import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach } from 'vitest';

/** What the server does with one request. Every behaviour ends by itself (see `lifetimeMs`). */
export type FaultBehaviour =
  /** Headers at once, then one body byte every `intervalMs` (an idle timer never fires). */
  | { kind: 'drip'; intervalMs: number; status?: number }
  /** Accept the connection and the request, never answer. */
  | { kind: 'hang' }
  /** `status` with `Retry-After: retryAfter` (delta seconds or an HTTP date), when given. */
  | { kind: 'status'; status: number; retryAfter?: string; headers?: Record<string, string>; body?: string }
  /** A Content-Length larger than the body, then the socket is closed. */
  | { kind: 'truncated'; declared: number; sent: number }
  /** The socket is destroyed as soon as the request arrives. */
  | { kind: 'reset' }
  /** A normal answer. */
  | { kind: 'ok'; status?: number; headers?: Record<string, string>; body?: string | Buffer }
  /** 200 with `body` as JSON: a fake API's answer. */
  | { kind: 'json'; body: unknown };

export interface FaultServerOptions {
  /** Behaviour per request, in order; the last one repeats. */
  behaviours: readonly FaultBehaviour[];
  /** The server closes itself and every socket after this long, whatever happens. Default 20 s. */
  lifetimeMs?: number;
}

export interface FaultServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  host: string;
  port: number;
  /**
   * Requests seen so far: method, path (with query), headers, and when it arrived (ms on the
   * server's monotonic clock), so a test can check what the client did when, without timing itself.
   */
  requests: { method: string; url: string; headers: IncomingMessage['headers']; at: number }[];
  /** Resolves once `count` requests have arrived; rejects if the server closes first. */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A loopback HTTP server that misbehaves on purpose: drip, hang, throttling with Retry-After,
 * truncated bodies and resets, for the deadline and retry tests. Loopback only, and bounded: every
 * socket is destroyed on `close()` or when `lifetimeMs` runs out.
 */
export async function startFaultServer(options: FaultServerOptions): Promise<FaultServer> {
  if (options.behaviours.length === 0) throw new RangeError('startFaultServer needs at least one behaviour');
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const requests: FaultServer['requests'] = [];
  let closed = false;
  const waiters = new Set<{ count: number; resolve: () => void; reject: (error: Error) => void }>();

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    timers.add(timer);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, behaviour: FaultBehaviour): void => {
    switch (behaviour.kind) {
      case 'hang':
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'status': {
        const headers: Record<string, string> = { 'Content-Type': 'application/json', ...behaviour.headers };
        if (behaviour.retryAfter !== undefined) headers['Retry-After'] = behaviour.retryAfter;
        res.writeHead(behaviour.status, headers).end(behaviour.body ?? '{"errors":[{"code":"TOOMANYREQUESTS"}]}');
        return;
      }
      case 'truncated':
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(behaviour.declared) });
        res.write(Buffer.alloc(behaviour.sent, 0x7b));
        later(20, () => req.socket.destroy());
        return;
      case 'drip': {
        res.writeHead(behaviour.status ?? 200, { 'Content-Type': 'application/json', 'Content-Length': '1000000' });
        const tick = (): void => {
          if (closed || res.destroyed) return;
          res.write('{');
          later(behaviour.intervalMs, tick);
        };
        tick();
        return;
      }
      case 'ok':
        res.writeHead(behaviour.status ?? 200, behaviour.headers ?? {}).end(behaviour.body ?? '');
        return;
      case 'json':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(behaviour.body));
        return;
    }
  };

  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, at: performance.now() });
    for (const w of waiters) {
      if (requests.length < w.count) continue;
      waiters.delete(w);
      w.resolve();
    }
    const behaviour = options.behaviours[Math.min(requests.length - 1, options.behaviours.length - 1)]!;
    // Read (and drop) the request body so POSTs (the AWS SDK) are "fully sent" from the client's side.
    req.resume();
    handle(req, res, behaviour);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const w of waiters) w.reject(new Error(`fault server closed after ${requests.length} of ${w.count} awaited requests`));
    waiters.clear();
    for (const timer of timers) clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const lifetime = setTimeout(() => void close(), options.lifetimeMs ?? 20_000);
  lifetime.unref();
  server.on('close', () => clearTimeout(lifetime));

  const waitForRequests = (count: number): Promise<void> =>
    requests.length >= count
      ? Promise.resolve()
      : closed
        ? Promise.reject(new Error(`fault server closed after ${requests.length} of ${count} awaited requests`))
        : new Promise((resolve, reject) => waiters.add({ count, resolve, reject }));

  return { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, port, requests, waitForRequests, close };
}

/**
 * For a spec whose tests each start their own fault servers: the returned function starts one,
 * and every server it started is closed after the test that started it.
 */
export function faultServersPerTest(): (options: FaultServerOptions) => Promise<FaultServer> {
  const open: FaultServer[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  return async (options) => {
    const server = await startFaultServer(options);
    open.push(server);
    return server;
  };
}
