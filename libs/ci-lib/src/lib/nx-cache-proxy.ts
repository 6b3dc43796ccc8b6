import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { TarChecker, type ArchiveVerdict } from './nx-cache-archive.js';
import { NX_CACHE_HASH, NxCacheConfigError, isLoopbackHost } from './nx-cache-protocol.js';
import { listenOn } from './nx-cache-server.js';
import { DEADLINE_CODE, TransportError, httpRequest, type HttpResponse } from './http-request.js';

/**
 * The agent's side of the Nx remote cache: a loopback proxy that Nx talks to instead of the shared
 * server. Nx 23's client fails the whole run on any cache answer it does not expect (a GET other
 * than 200/404, a PUT other than 200/403/409, a body that is not its archive, a refused connection)
 * and it has no timeout at all, so a silent server hangs the job. The proxy answers Nx only what
 * it accepts: upstream trouble of any kind becomes a miss (GET 404) or "stored" (PUT 200) within a
 * deadline, and each such request is reported as a degradation for the build's annotation.
 */

export interface NxCacheProxyOptions {
  /** The shared cache, e.g. `https://nx-cache.internal:8443`. */
  upstream: string;
  /** Default 127.0.0.1; the proxy holds no token of its own, Nx's header is forwarded. */
  host?: string;
  /** Default 0, a free port (read `url`). */
  port?: number;
  /**
   * Time for the upstream to start answering a GET (its headers). Default 2 s: the server answers
   * a GET as soon as it has checked the entry, so a silent server costs a job 2 s once (then the
   * cooldown skips it), not a hang.
   */
  answerDeadlineMs?: number;
  /** One upstream GET, body included. Default 30 s. */
  getDeadlineMs?: number;
  /** One upstream PUT, body included (the server answers only once it has the whole body). Default 60 s. */
  putDeadlineMs?: number;
  /** After the upstream was unreachable or missed a deadline, skip it for this long. Default 60 s. */
  cooldownMs?: number;
  /** Largest entry passed either way. Default 2 GiB (Nx holds entries in memory too). */
  maxBodyBytes?: number;
  /** Called once per degraded request, after Nx got its answer. */
  onDegraded?: (event: DegradedEvent) => void;
  log?: (line: string) => void;
  /** Wall clock in ms (cooldown). Default `Date.now`. */
  now?: () => number;
}

export const NX_CACHE_PROXY_DEFAULTS = {
  host: '127.0.0.1',
  answerDeadlineMs: 2_000,
  getDeadlineMs: 30_000,
  putDeadlineMs: 60_000,
  cooldownMs: 60_000,
  maxBodyBytes: 2 * 1024 ** 3,
} as const;

/** One request Nx did not get a real answer for. */
export interface DegradedEvent {
  method: 'GET' | 'PUT';
  hash: string;
  /** What Nx was told instead: a miss or "stored". */
  answered: 404 | 200;
  /** Short, stable reason used to group events, e.g. `HTTP 500`, `unreachable (ECONNREFUSED)`. */
  reason: string;
}

export interface NxCacheProxy {
  url: string;
  close(): Promise<void>;
}

/** What the upstream's answer (or failure) means for Nx. Pure. */
export type UpstreamOutcome = { kind: 'pass'; status: number; body?: Buffer } | { kind: 'degrade'; reason: string; trip: boolean };

export function decideGet(result: HttpResponse | TransportError): UpstreamOutcome {
  if (result instanceof TransportError) return transportOutcome(result);
  if (result.status === 404) return { kind: 'pass', status: 404 };
  if (result.status !== 200) return { kind: 'degrade', reason: statusReason(result.status), trip: false };
  const verdict = checkArchiveBuffer(result.body);
  if (!verdict.ok) return { kind: 'degrade', reason: `not an Nx archive (${verdict.reason})`, trip: false };
  return { kind: 'pass', status: 200, body: result.body };
}

export function decidePut(result: HttpResponse | TransportError): UpstreamOutcome {
  if (result instanceof TransportError) return transportOutcome(result);
  // 202 is what the OpenAPI document (and older engex servers) say; Nx needs 200.
  if (result.status === 200 || result.status === 201 || result.status === 202 || result.status === 204) return { kind: 'pass', status: 200 };
  // Nx accepts both: 409 "already stored", 403 "this token may only read" (pull-request agents).
  if (result.status === 409 || result.status === 403) return { kind: 'pass', status: result.status };
  return { kind: 'degrade', reason: statusReason(result.status), trip: false };
}

function transportOutcome(error: TransportError): UpstreamOutcome {
  if (error.code === DEADLINE_CODE) return { kind: 'degrade', reason: 'no answer within the deadline', trip: true };
  if (error.code === 'EMSGSIZE') return { kind: 'degrade', reason: 'entry over the size limit', trip: false };
  return { kind: 'degrade', reason: `unreachable (${error.code})`, trip: true };
}

function statusReason(status: number): string {
  if (status === 401 || status === 403) return `HTTP ${status} (token refused: rotated, or not this queue's token?)`;
  if (status === 507) return 'HTTP 507 (cache storage full)';
  return `HTTP ${status}`;
}

export function checkArchiveBuffer(body: Buffer): ArchiveVerdict {
  if (body.length === 0) return { ok: false, reason: 'empty body' };
  if (body[0] !== 0x1f || body[1] !== 0x8b) return { ok: false, reason: 'not gzip' };
  let tar: Buffer;
  try {
    tar = gunzipSync(body);
  } catch (error) {
    return { ok: false, reason: `gzip stream is broken (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const checker = new TarChecker();
  checker.push(tar);
  return checker.end();
}

/** Starts the proxy on loopback; resolves once it listens. */
export async function startNxCacheProxy(options: NxCacheProxyOptions): Promise<NxCacheProxy> {
  const host = options.host ?? NX_CACHE_PROXY_DEFAULTS.host;
  if (!isLoopbackHost(host))
    throw new NxCacheConfigError(`The Nx cache proxy forwards the agent's token, so it listens on loopback only, not ${host}.`, { hint: 'Drop --host or use 127.0.0.1.' });
  let upstream: URL;
  try {
    upstream = new URL(options.upstream);
    if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new Error('protocol');
  } catch {
    throw new NxCacheConfigError(`--upstream ${JSON.stringify(options.upstream)} is not an http(s) URL.`, { hint: 'Give the shared cache, e.g. https://nx-cache.internal:8443.' });
  }
  const getDeadlineMs = options.getDeadlineMs ?? NX_CACHE_PROXY_DEFAULTS.getDeadlineMs;
  const answerDeadlineMs = Math.min(options.answerDeadlineMs ?? NX_CACHE_PROXY_DEFAULTS.answerDeadlineMs, getDeadlineMs);
  const putDeadlineMs = options.putDeadlineMs ?? NX_CACHE_PROXY_DEFAULTS.putDeadlineMs;
  const cooldownMs = options.cooldownMs ?? NX_CACHE_PROXY_DEFAULTS.cooldownMs;
  const maxBodyBytes = options.maxBodyBytes ?? NX_CACHE_PROXY_DEFAULTS.maxBodyBytes;
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const onDegraded = options.onDegraded ?? (() => {});
  let down: { until: number; reason: string } | undefined;

  const base = upstream.href.replace(/\/$/, '');
  const forward = (method: 'GET' | 'PUT', hash: string, authorization: string | undefined, body?: Buffer): Promise<HttpResponse | TransportError> =>
    httpRequest(new URL(`${base}/v1/cache/${hash}`), {
      method,
      headers: {
        Accept: 'application/octet-stream',
        ...(method === 'PUT' ? { 'Content-Type': 'application/octet-stream' } : {}),
        ...(authorization !== undefined ? { Authorization: authorization } : {}),
      },
      body,
      timeoutMs: method === 'GET' ? getDeadlineMs : putDeadlineMs,
      answerTimeoutMs: method === 'GET' ? answerDeadlineMs : undefined,
      maxBodyBytes,
    }).catch((error: unknown) => (error instanceof TransportError ? error : new TransportError('EUNKNOWN', (error as Error).message)));

  const server = createServer({ headersTimeout: 5_000, requestTimeout: 5 * 60_000, connectionsCheckingInterval: 1_000 });
  server.timeout = 60_000;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void serve(req, res).catch((error: unknown) => {
      // Never leave Nx waiting: whatever went wrong here, it gets an answer it accepts.
      if (!res.headersSent) answer(res, req.method === 'PUT' ? 200 : 404);
      log(`nx-cache proxy error: ${(error as Error).message}`);
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const hash = /^\/v1\/cache\/([^/?]+)$/.exec((req.url ?? '').split('?')[0]!)?.[1];
    const method = req.method;
    if (hash === undefined || !NX_CACHE_HASH.test(hash) || (method !== 'GET' && method !== 'PUT')) {
      req.resume();
      return answer(res, hash === undefined ? 404 : method !== 'GET' && method !== 'PUT' ? 405 : 400);
    }
    const body = method === 'PUT' ? await readBody(req, maxBodyBytes) : undefined;
    const fallback = method === 'GET' ? 404 : 200;
    const degrade = (reason: string) => {
      answer(res, fallback);
      log(`nx-cache proxy ${method} ${hash.slice(0, 12)} -> ${fallback} (${reason})`);
      onDegraded({ method, hash, answered: fallback, reason });
    };
    if (body === 'too-large') return degrade('entry over the size limit');
    if (down !== undefined && now() < down.until) return degrade(`skipped: upstream down (${down.reason})`);
    const result = await forward(method, hash, req.headers.authorization, body);
    const outcome = method === 'GET' ? decideGet(result) : decidePut(result);
    if (outcome.kind === 'degrade') {
      if (outcome.trip) down = { until: now() + cooldownMs, reason: outcome.reason };
      return degrade(outcome.reason);
    }
    down = undefined;
    if (outcome.body !== undefined) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': outcome.body.length });
      res.end(outcome.body);
    } else answer(res, outcome.status);
  }

  const url = await listenOn(server, host, options.port ?? 0);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        // Every upstream call has its deadline, so waiting for in-flight requests is bounded too.
        const timer = setTimeout(() => server.closeAllConnections(), Math.max(getDeadlineMs, putDeadlineMs) + 1_000);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

function answer(res: ServerResponse, status: number): void {
  const text = status === 200 ? 'Stored\n' : status === 404 ? 'The record was not found\n' : `HTTP ${status}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Markdown for `buildkite-agent annotate`, or '' when nothing degraded. Pure. */
export function renderDegradedAnnotation(events: readonly DegradedEvent[], job?: string): string {
  if (events.length === 0) return '';
  const byReason = new Map<string, { get: number; put: number }>();
  for (const e of events) {
    const row = byReason.get(e.reason) ?? { get: 0, put: 0 };
    if (e.method === 'GET') row.get++;
    else row.put++;
    byReason.set(e.reason, row);
  }
  const lines = [
    `**Nx remote cache unavailable for ${events.length} request${events.length === 1 ? '' : 's'}**${job ? ` in ${job}` : ''}: the build went on without it (misses ran the tasks, results were not shared).`,
    '',
    '| reason | reads answered as a miss | uploads skipped |',
    '| --- | --- | --- |',
    ...[...byReason].sort((a, b) => b[1].get + b[1].put - (a[1].get + a[1].put)).map(([reason, n]) => `| ${reason.replace(/\|/g, '\\|')} | ${n.get} | ${n.put} |`),
    '',
  ];
  return lines.join('\n');
}

/** Reads the proxy's JSON-lines event file; a torn last line (the proxy was killed mid-write) is skipped. */
export function parseDegradedEvents(text: string): DegradedEvent[] {
  const events: DegradedEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as Partial<DegradedEvent>;
      if ((value.method === 'GET' || value.method === 'PUT') && typeof value.reason === 'string' && typeof value.hash === 'string')
        events.push({ method: value.method, hash: value.hash, reason: value.reason, answered: value.method === 'GET' ? 404 : 200 });
    } catch {
      // skipped on purpose
    }
  }
  return events;
}
