import { defineSpec } from '../../spec.js';

export const NX_CACHE_SERVE = defineSpec({
  name: 'nx-cache serve',
  summary: 'Serve a self-hosted Nx remote cache (NX_SELF_HOSTED_REMOTE_CACHE_SERVER) from a directory or an S3 bucket',
  synopsis: '--dir <path> | --s3-bucket <name> [--port <n>] [--host <addr>]',
  details: `
    Nx's self-hosted cache API (Nx >= 20.8): PUT /v1/cache/<hash> stores a task's archive (200, not the OpenAPI
    document's 202: Nx's client accepts only 200), GET returns it (200, 404 when absent). Entries are write-once:
    a PUT for a stored hash is 409 and never replaces it; of concurrent PUTs one wins atomically (link(2) in a
    folder, a conditional write If-None-Match: * on S3, so any number of replicas can share one bucket). Only
    well-formed archives as Nx writes them are stored (gzip + tar with a 4-byte 'code' entry); anything else is
    400. An entry that fails to read back is a miss and is quarantined. Content-Length is required and must match
    the bytes received; bodies over --max-body-bytes are 413; a full disk is 507. Hashes are 1-128 hex/decimal.
    Tokens (Authorization: Bearer): ENGEX_NX_CACHE_WRITE_TOKEN may read and write (trusted queues),
    ENGEX_NX_CACHE_READ_TOKEN may only read (the untrusted queue: it cannot poison the cache). Neither set:
    an open cache, allowed only on a loopback address and announced on stderr. Self-protection: headers within
    10 s, idle connections closed after 30 s, a response must be sent within 5 min, --max-connections and
    --max-connections-per-ip. Stops cleanly on SIGINT/SIGTERM. S3 credentials: the AWS SDK chain (instance role).
  `,
  flags: `
    [--dir <path>]                  Directory holding the entries (created when missing); one host only
    [--s3-bucket <name>]            S3 bucket holding the entries, shared by every replica
    [--s3-prefix <prefix>]          Key prefix in the bucket (default none), e.g. nx/
    [--s3-region <region>]          Bucket region (default AWS_REGION, else us-east-1)
    [--s3-endpoint <url>]           S3-compatible endpoint instead of AWS (path-style addressing)
    [--max-age <14d|36h>]           With --dir: remove entries neither read nor written for this long (default never)
    [--port <n>]                    TCP port (default 0: a free one, printed)
    [--host <addr>]                 Address to listen on (default 127.0.0.1; 0.0.0.0 for agents on other hosts, tokens required)
    [--max-body-bytes <n>]          Largest upload accepted (default 2147483648, 2 GiB)
    [--max-connections <n>]         Open connections at most (default 512); keep it under the descriptor limit
    [--max-connections-per-ip <n>]  Open connections per client address (default 64)
  `,
  positionals: [],
  output: [
    'nx-cache listening on http://<host>:<port> <dir=<path>|s3://<bucket>/<prefix>> auth=<read+write tokens|write token|OPEN (no tokens)>   (stderr)',
    'nx-cache <GET|PUT> <hash prefix> <status> <bytes> B <ms> ms   (stderr, one line per request, no tokens)',
  ],
  env: ['ENGEX_NX_CACHE_READ_TOKEN', 'ENGEX_NX_CACHE_WRITE_TOKEN', 'AWS_REGION'],
  exit: '0 stopped by SIGINT/SIGTERM, 2 usage (bad flag, open cache on a public address, weak token), 4 cannot listen',
});
