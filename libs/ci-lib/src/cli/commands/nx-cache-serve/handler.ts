import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../lib/errors.js';
import { createS3Storage } from '../../../lib/nx-cache-s3.js';
import { NX_CACHE_DEFAULTS, startNxCacheServer } from '../../../lib/nx-cache-server.js';
import { defineCommand } from '../../define-command.js';
import { maxAge, wholeNumber } from '../../flag-values.js';
import { listenError, untilStopped } from '../../serve-until-stopped.js';
import { NX_CACHE_SERVE } from './command.js';

/** Environment variables holding the cache's bearer tokens (empty counts as unset). */
export const NX_CACHE_TOKEN_ENV = { read: 'ENGEX_NX_CACHE_READ_TOKEN', write: 'ENGEX_NX_CACHE_WRITE_TOKEN' } as const;

export const nxCacheServe = defineCommand(NX_CACHE_SERVE, async (args, ctx) => {
  if ((args.dir === undefined) === (args.s3Bucket === undefined))
    throw new UsageError('nx-cache serve needs exactly one storage: --dir <path> (one host) or --s3-bucket <name> (replicas)');
  if (args.maxAge !== undefined && args.s3Bucket !== undefined)
    throw new UsageError('--max-age applies to --dir only; with --s3-bucket, expire entries with the bucket lifecycle rule in the README (replicas keep no state)');
  const port = wholeNumber('port', args.port, 0, 65535);
  const maxBodyBytes = wholeNumber('max-body-bytes', args.maxBodyBytes, 1, Number.MAX_SAFE_INTEGER);
  const maxConnections = wholeNumber('max-connections', args.maxConnections, 1, 1_000_000);
  const maxConnectionsPerIp = wholeNumber('max-connections-per-ip', args.maxConnectionsPerIp, 1, 1_000_000);
  const host = args.host ?? NX_CACHE_DEFAULTS.host;
  const read = ctx.env[NX_CACHE_TOKEN_ENV.read] || undefined;
  const write = ctx.env[NX_CACHE_TOKEN_ENV.write] || undefined;
  const storage =
    args.s3Bucket === undefined
      ? undefined
      : await createS3Storage({
          bucket: args.s3Bucket,
          prefix: args.s3Prefix,
          region: args.s3Region ?? ctx.env['AWS_REGION'] ?? ctx.env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
          endpoint: args.s3Endpoint,
          spoolDir: join(ctx.env['TMPDIR'] || tmpdir(), 'engex-nx-cache-spool'),
        });
  const server = await startNxCacheServer({
    dir: args.dir === undefined ? undefined : ctx.path(args.dir),
    storage,
    host,
    port,
    maxBodyBytes,
    maxConnections,
    maxConnectionsPerIp,
    maxAgeMs: args.maxAge === undefined ? undefined : maxAge(args.maxAge),
    tokens: { read, write },
    log: (text) => ctx.note(text),
  }).catch(listenError('nx-cache', host, port));
  const auth =
    read === undefined && write === undefined ? 'OPEN (no tokens)' : [read && 'read', write && 'write'].filter(Boolean).join('+') + ' token' + (read && write ? 's' : '');
  if (auth.startsWith('OPEN')) {
    ctx.note(
      `WARNING: nx-cache is OPEN: anyone who reaches ${server.url} can read and write entries. Set ${NX_CACHE_TOKEN_ENV.write} (and ${NX_CACHE_TOKEN_ENV.read}) before sharing it.`,
    );
  }
  ctx.note(`nx-cache listening on ${server.url} ${server.storage} auth=${auth}`);
  // The executable's first SIGINT/SIGTERM lands here (a second one kills at once).
  await untilStopped();
  ctx.note('nx-cache stopping: finishing in-flight requests');
  await server.close();
  ctx.note('nx-cache stopped');
  return 0;
});
