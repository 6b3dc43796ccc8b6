import { appendFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { InfrastructureError, UsageError } from '../lib/errors.js';
import { onStopRequest } from '../lib/exit-cleanup.js';
import { parseDegradedEvents, renderDegradedAnnotation, startNxCacheProxy } from '../lib/nx-cache-proxy.js';
import { createS3Storage } from '../lib/nx-cache-s3.js';
import { NX_CACHE_DEFAULTS, startNxCacheServer } from '../lib/nx-cache-server.js';
import type { CliIo, Handler, Invocation } from './handlers.js';

// Type-only import above: handlers.ts imports this module's table, so nothing runtime goes back.
const note = (io: CliIo, text: string) => io.stderr(`${text}\n`);
const str = (inv: Invocation, name: string): string | undefined => (typeof inv.flags[name] === 'string' ? (inv.flags[name] as string) : undefined);

/** Environment variables holding the cache's bearer tokens (empty counts as unset). */
export const NX_CACHE_TOKEN_ENV = { read: 'ENGEX_NX_CACHE_READ_TOKEN', write: 'ENGEX_NX_CACHE_WRITE_TOKEN' } as const;

function wholeNumber(inv: Invocation, name: string, min: number, max: number): number | undefined {
  const text = str(inv, name);
  if (text === undefined) return undefined;
  if (!/^\d{1,16}$/.test(text) || Number(text) < min || Number(text) > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** `14d` or `36h` → ms. */
export function parseMaxAge(text: string): number {
  const match = /^(\d{1,5})([dh])$/.exec(text);
  if (!match || Number(match[1]) === 0) throw new UsageError(`--max-age must be a number of days or hours such as 14d or 36h, got ${JSON.stringify(text)}`);
  return Number(match[1]) * (match[2] === 'd' ? 86_400_000 : 3_600_000);
}

const listenError =
  (what: string, host: string, port: number | undefined) =>
  (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new InfrastructureError(`${what} cannot listen on ${host}:${port ?? 0} (${code}); pick another --port or --host`, { cause: error });
    }
    throw error;
  };

const untilStopped = (): Promise<void> => new Promise<void>((resolveStop) => onStopRequest(resolveStop));

const nxCacheServe: Handler = async (inv, io) => {
  const dirFlag = str(inv, 'dir');
  const bucket = str(inv, 's3-bucket');
  if ((dirFlag === undefined) === (bucket === undefined))
    throw new UsageError('nx-cache serve needs exactly one storage: --dir <path> (one host) or --s3-bucket <name> (replicas)');
  const maxAge = str(inv, 'max-age');
  if (maxAge !== undefined && bucket !== undefined)
    throw new UsageError('--max-age applies to --dir only; with --s3-bucket, expire entries with the bucket lifecycle rule in the README (replicas keep no state)');
  const port = wholeNumber(inv, 'port', 0, 65535);
  const maxBodyBytes = wholeNumber(inv, 'max-body-bytes', 1, Number.MAX_SAFE_INTEGER);
  const maxConnections = wholeNumber(inv, 'max-connections', 1, 1_000_000);
  const maxConnectionsPerIp = wholeNumber(inv, 'max-connections-per-ip', 1, 1_000_000);
  const host = str(inv, 'host') ?? NX_CACHE_DEFAULTS.host;
  const read = io.env[NX_CACHE_TOKEN_ENV.read] || undefined;
  const write = io.env[NX_CACHE_TOKEN_ENV.write] || undefined;
  const storage =
    bucket === undefined
      ? undefined
      : await createS3Storage({
          bucket,
          ...(str(inv, 's3-prefix') !== undefined ? { prefix: str(inv, 's3-prefix')! } : {}),
          region: str(inv, 's3-region') ?? io.env['AWS_REGION'] ?? io.env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
          ...(str(inv, 's3-endpoint') !== undefined ? { endpoint: str(inv, 's3-endpoint')! } : {}),
          spoolDir: join(io.env['TMPDIR'] || tmpdir(), 'engex-nx-cache-spool'),
        });
  const server = await startNxCacheServer({
    ...(dirFlag !== undefined ? { dir: resolve(io.cwd, dirFlag) } : {}),
    ...(storage !== undefined ? { storage } : {}),
    host,
    ...(port !== undefined ? { port } : {}),
    ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
    ...(maxConnections !== undefined ? { maxConnections } : {}),
    ...(maxConnectionsPerIp !== undefined ? { maxConnectionsPerIp } : {}),
    ...(maxAge !== undefined ? { maxAgeMs: parseMaxAge(maxAge) } : {}),
    tokens: { ...(read !== undefined ? { read } : {}), ...(write !== undefined ? { write } : {}) },
    log: (text) => note(io, text),
  }).catch(listenError('nx-cache', host, port));
  const auth =
    read === undefined && write === undefined ? 'OPEN (no tokens)' : [read && 'read', write && 'write'].filter(Boolean).join('+') + ' token' + (read && write ? 's' : '');
  if (auth.startsWith('OPEN')) {
    note(
      io,
      `WARNING: nx-cache is OPEN: anyone who reaches ${server.url} can read and write entries. Set ${NX_CACHE_TOKEN_ENV.write} (and ${NX_CACHE_TOKEN_ENV.read}) before sharing it.`,
    );
  }
  note(io, `nx-cache listening on ${server.url} ${server.storage} auth=${auth}`);
  // The executable's first SIGINT/SIGTERM lands here (a second one kills at once).
  await untilStopped();
  note(io, 'nx-cache stopping: finishing in-flight requests');
  await server.close();
  note(io, 'nx-cache stopped');
  return 0;
};

const seconds = (inv: Invocation, name: string): number | undefined => {
  const value = wholeNumber(inv, name, 1, 3600);
  return value === undefined ? undefined : value * 1000;
};

const nxCacheProxy: Handler = async (inv, io) => {
  const upstream = str(inv, 'upstream')!;
  const port = wholeNumber(inv, 'port', 0, 65535);
  const answerDeadlineMs = seconds(inv, 'answer-deadline');
  const getDeadlineMs = seconds(inv, 'get-deadline');
  const putDeadlineMs = seconds(inv, 'put-deadline');
  const events = str(inv, 'events') === undefined ? undefined : resolve(io.cwd, str(inv, 'events')!);
  const urlFile = str(inv, 'url-file') === undefined ? undefined : resolve(io.cwd, str(inv, 'url-file')!);
  const proxy = await startNxCacheProxy({
    upstream,
    ...(port !== undefined ? { port } : {}),
    ...(answerDeadlineMs !== undefined ? { answerDeadlineMs } : {}),
    ...(getDeadlineMs !== undefined ? { getDeadlineMs } : {}),
    ...(putDeadlineMs !== undefined ? { putDeadlineMs } : {}),
    log: (text) => note(io, text),
    // Appended synchronously, one line each: pre-exit may stop the proxy at any moment.
    onDegraded: (event) => {
      if (events !== undefined) appendFileSync(events, `${JSON.stringify(event)}\n`);
    },
  }).catch(listenError('nx-cache proxy', '127.0.0.1', port));
  if (urlFile !== undefined) {
    // Written whole, then renamed: the environment hook never reads half a URL.
    await writeFile(`${urlFile}.tmp`, `${proxy.url}\n`);
    await rename(`${urlFile}.tmp`, urlFile);
  }
  note(io, `nx-cache proxy listening on ${proxy.url} -> ${new URL(upstream).origin}`);
  await untilStopped();
  await proxy.close();
  note(io, 'nx-cache proxy stopped');
  return 0;
};

const nxCacheAnnotate: Handler = async (inv, io: CliIo) => {
  const file = resolve(io.cwd, str(inv, 'events')!);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
  io.stdout(renderDegradedAnnotation(parseDegradedEvents(text), str(inv, 'job')));
  return 0;
};

export const NX_CACHE_HANDLERS: Readonly<Record<string, Handler>> = {
  'nx-cache serve': nxCacheServe,
  'nx-cache proxy': nxCacheProxy,
  'nx-cache annotate': nxCacheAnnotate,
};
