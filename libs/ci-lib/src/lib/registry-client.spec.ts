import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { uploadTestImage, putManifest } from '../testing/oci-upload.js';
import { describeNeeding, registryRequirement } from '../testing/requirements.js';
import { suiteRegistry } from '../testing/suite-registry.js';
import { readEcrCredentials, type EcrClientLike } from './ecr-credentials.js';
import { startFaultServer } from '../testing/fault-server.js';
import { DeadlineExceededError, RegistryError, RegistryThrottledError, exitCodeFor } from './errors.js';
import { findFreePort } from './free-port.js';
import { MANIFEST_ACCEPT, createRegistryClient } from './registry-client.js';
import { parseChallenge } from './registry-transport.js';

/** Instant, recorded sleeps and a fixed "random" keep retry tests fast and deterministic. */
function fakeTimers() {
  const sleeps: number[] = [];
  return { sleeps, retry: { sleep: async (ms: number) => void sleeps.push(ms), random: () => 0.5, attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 } };
}

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

async function serve(handler: Handler): Promise<{ host: string; hits: IncomingMessage[]; close(): Promise<void> }> {
  const hits: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req);
    handler(req, res, hits.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const DIGEST = `sha256:${'d'.repeat(64)}`;

describeNeeding([registryRequirement()], 'registry client against a real docker-registry', () => {
  const registry = suiteRegistry();

  it('finds a missing tag absent and a pushed one with its digest', async () => {
    const log: string[] = [];
    const client = createRegistryClient({ registry: { host: registry().host, protocol: 'http' }, log: (l) => log.push(l) });
    expect(await client.headManifest('engex/absent', 'nope')).toEqual({ exists: false });
    const image = await uploadTestImage(registry().host, 'engex/halow', 'v1', { labels: { 'org.opencontainers.image.revision': 'abc' } });
    expect(await client.headManifest('engex/halow', 'v1')).toEqual({
      exists: true,
      digest: image.manifestDigest,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    });
    expect(await client.inspectImage('engex/halow', 'v1')).toEqual({
      manifestDigest: image.manifestDigest,
      configDigest: image.configDigest,
      labels: { 'org.opencontainers.image.revision': 'abc' },
      size: image.size,
    });
    expect(await client.inspectImage('engex/halow', 'missing')).toBeUndefined();
    expect(log).toContain(`HEAD http://${registry().host}/v2/engex/halow/manifests/v1 -> 200`);
  });

  it('resolves an OCI index to the linux/amd64 image', async () => {
    const client = createRegistryClient({ registry: { host: registry().host, protocol: 'http' } });
    const image = await uploadTestImage(registry().host, 'engex/multi', 'amd64', { mediaType: 'oci', content: 'multi' });
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.manifestDigest, size: 1, platform: { os: 'linux', architecture: 'amd64' } }],
    };
    const indexDigest = await putManifest(registry().host, 'engex/multi', 'v1', index.mediaType, index);
    expect(await client.headManifest('engex/multi', 'v1')).toMatchObject({ exists: true, digest: indexDigest });
    expect(await client.inspectImage('engex/multi', 'v1')).toMatchObject({ manifestDigest: indexDigest, configDigest: image.configDigest });
    await expect(client.inspectImage('engex/multi', 'v1', { os: 'linux', architecture: 'arm64' })).rejects.toThrow(/index without a linux\/arm64 image/);
  });
});

describe('retries', () => {
  it('retries 503 with jittered backoff, then succeeds', async () => {
    const server = await serve((_req, res, n) => {
      if (n <= 2) res.writeHead(503).end('busy');
      else res.writeHead(200, { 'Docker-Content-Digest': DIGEST }).end();
    });
    const { sleeps, retry } = fakeTimers();
    const log: string[] = [];
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry, log: (l) => log.push(l) });
    expect(await client.headManifest('engex/halow', 'x')).toEqual({ exists: true, digest: DIGEST });
    expect(server.hits).toHaveLength(3);
    expect(sleeps).toEqual([75, 150]); // cap 100 then 200, equal jitter with random()=0.5
    expect(server.hits[0]!.headers['accept']).toBe(MANIFEST_ACCEPT);
    expect(log.filter((l) => l.startsWith('retrying'))).toHaveLength(2);
    await server.close();
  });

  it('gives up after the bounded attempts with the last status', async () => {
    const server = await serve((_req, res) => res.writeHead(502).end());
    const { sleeps, retry } = fakeTimers();
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry });
    const error = await client.headManifest('engex/halow', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ status: 502 });
    expect(server.hits).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    await server.close();
  });

  it.each([
    [404, 'absent'],
    [401, 'auth'],
    [403, 'forbidden'],
  ])('never retries a %i', async (status) => {
    const server = await serve((_req, res) => res.writeHead(status).end());
    const { sleeps, retry } = fakeTimers();
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry });
    const result = await client.headManifest('engex/halow', 'x').catch((e: unknown) => e);
    if (status === 404) expect(result).toEqual({ exists: false });
    else expect(result).toMatchObject({ name: 'RegistryError', status });
    expect(server.hits).toHaveLength(1);
    expect(sleeps).toEqual([]);
    await server.close();
  });

  it('explains a 401 from a registry that wants credentials', async () => {
    const server = await serve((_req, res) => res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' }).end());
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry: fakeTimers().retry });
    await expect(client.headManifest('engex/halow', 'x')).rejects.toThrow(/requires authentication \(401 basic\)/);
    await server.close();
  });

  it('retries a reset connection', async () => {
    const server = await serve((req, res, n) => {
      if (n === 1) req.socket.destroy();
      else res.writeHead(404).end();
    });
    const { sleeps, retry } = fakeTimers();
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry });
    expect(await client.headManifest('engex/halow', 'x')).toEqual({ exists: false });
    expect(server.hits).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    await server.close();
  });

  it('retries a refused connection a bounded number of times, then says it cannot reach the registry', async () => {
    const port = await findFreePort();
    const { sleeps, retry } = fakeTimers();
    const client = createRegistryClient({ registry: { host: `127.0.0.1:${port}`, protocol: 'http' }, retry });
    await expect(client.headManifest('engex/halow', 'x')).rejects.toThrow(`cannot reach registry 127.0.0.1:${port}`);
    expect(sleeps).toHaveLength(3);
  });
});

describe('throttling and deadlines against the fault server', () => {
  it('waits what a 429 Retry-After asks (delta seconds), then succeeds', async () => {
    const server = await startFaultServer({
      behaviours: [
        { kind: 'status', status: 429, retryAfter: '7' },
        { kind: 'ok', headers: { 'Docker-Content-Digest': DIGEST } },
      ],
    });
    const { sleeps, retry } = fakeTimers();
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry });
    expect(await client.headManifest('engex/halow', 'x')).toEqual({ exists: true, digest: DIGEST });
    expect(sleeps).toEqual([7000]);
    expect(server.requests).toHaveLength(2);
    await server.close();
  });

  it('honours a 503 Retry-After given as an HTTP date', async () => {
    const now = Date.parse('2026-11-30T10:00:00Z');
    const server = await startFaultServer({
      behaviours: [
        { kind: 'status', status: 503, retryAfter: 'Mon, 30 Nov 2026 10:00:12 GMT' },
        { kind: 'ok', status: 404 },
      ],
    });
    const { sleeps, retry } = fakeTimers();
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry: { ...retry, now: () => now } });
    expect(await client.headManifest('engex/halow', 'x')).toEqual({ exists: false });
    expect(sleeps).toEqual([12_000]);
    await server.close();
  });

  it('gives up, naming the wait, when Retry-After is above the cap; exit 4', async () => {
    const server = await startFaultServer({ behaviours: [{ kind: 'status', status: 429, retryAfter: '3600' }] });
    const { sleeps, retry } = fakeTimers();
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry });
    const error = await client.headManifest('engex/halow', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryThrottledError);
    expect((error as Error).message).toMatch(/answered 429 \(too many requests, Retry-After 3600 s\); that is longer than the 30 s engex-ci waits/);
    expect(exitCodeFor(error)).toBe(4);
    expect(sleeps).toEqual([]);
    await server.close();
  });

  it('a 429 without Retry-After gets bounded jittered backoff', async () => {
    const server = await startFaultServer({ behaviours: [{ kind: 'status', status: 429 }] });
    const { sleeps, retry } = fakeTimers();
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry });
    await expect(client.headManifest('engex/halow', 'x')).rejects.toBeInstanceOf(RegistryThrottledError);
    expect(sleeps).toEqual([75, 150, 300]);
    expect(server.requests).toHaveLength(4);
    await server.close();
  });

  it('really waits a Retry-After of 1 s once', async () => {
    const server = await startFaultServer({
      behaviours: [
        { kind: 'status', status: 429, retryAfter: '1' },
        { kind: 'ok', status: 404 },
      ],
    });
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' } });
    const started = Date.now();
    expect(await client.headManifest('engex/halow', 'x')).toEqual({ exists: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    await server.close();
  });

  it.each([
    ['drips one byte every 200 ms', { kind: 'drip', intervalMs: 200 } as const],
    ['accepts and never answers', { kind: 'hang' } as const],
  ])('ends at its overall deadline when the registry %s; exit 4 naming host and time', async (_name, behaviour) => {
    const server = await startFaultServer({ behaviours: [behaviour] });
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, deadlineMs: 1200, retry: fakeTimers().retry });
    const started = Date.now();
    const error = await client.inspectImage('engex/halow', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(exitCodeFor(error)).toBe(4);
    // The client's own reported wait, not a wall-clock ceiling (a loaded machine may take longer to
    // get back to us): at least the deadline, and no request sent after it, by the server's clock.
    const waited = /\(waited (\d+\.\d) s\)/.exec((error as Error).message);
    expect((error as Error).message).toMatch(
      new RegExp(`^registry GET /v2/engex/halow/manifests/x on ${server.host.replace('.', '\\.')} did not finish within its 1\\.2 s deadline \\(waited \\d+\\.\\d s\\)`),
    );
    expect(Number(waited?.[1])).toBeGreaterThanOrEqual(1.1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1150);
    const first = server.requests[0]!.at;
    expect(server.requests.filter((r) => r.at - first >= 1200)).toEqual([]);
    await server.close();
  });

  it('retries a truncated body and a reset, then succeeds', async () => {
    const server = await startFaultServer({ behaviours: [{ kind: 'truncated', declared: 500, sent: 10 }, { kind: 'reset' }, { kind: 'ok', status: 404 }] });
    const { sleeps, retry } = fakeTimers();
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry });
    expect(await client.inspectImage('engex/halow', 'x')).toBeUndefined();
    expect(server.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    await server.close();
  });

  it('stops retrying when the next wait would pass the deadline', async () => {
    const server = await startFaultServer({ behaviours: [{ kind: 'status', status: 503, retryAfter: '20' }] });
    const { sleeps, retry } = fakeTimers();
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry, deadlineMs: 10_000 });
    const error = await client.headManifest('engex/halow', 'x').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RegistryThrottledError', status: 503 });
    expect(sleeps).toEqual([]);
    expect(server.requests).toHaveLength(1);
    await server.close();
  });
});

describe('authentication', () => {
  it('fetches an anonymous Bearer token when challenged', async () => {
    const server = await serve((req, res) => {
      if (req.url?.startsWith('/token')) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: 'anon-token' }));
      } else if (req.headers['authorization'] === 'Bearer anon-token') {
        res.writeHead(200, { 'Docker-Content-Digest': DIGEST }).end();
      } else {
        res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="registry.test",scope="repository:engex/halow:pull"` }).end();
      }
    });
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry: fakeTimers().retry });
    expect(await client.headManifest('engex/halow', 'x')).toEqual({ exists: true, digest: DIGEST });
    expect(await client.headManifest('engex/halow', 'y')).toEqual({ exists: true, digest: DIGEST });
    expect(server.hits.map((h) => h.url)).toEqual([
      '/v2/engex/halow/manifests/x',
      '/token?service=registry.test&scope=repository%3Aengex%2Fhalow%3Apull',
      '/v2/engex/halow/manifests/x',
      '/v2/engex/halow/manifests/y',
    ]);
    await server.close();
  });

  it('sends ECR credentials as Basic, never across a redirect, and never prints them', async () => {
    const password = 'eyJwYXlsb2FkIjoiVE9QLVNFQ1JFVC1FQ1ItUEFTU1dPUkQifQ';
    const token = Buffer.from(`AWS:${password}`).toString('base64');
    const calls: unknown[] = [];
    const fakeEcr: EcrClientLike = {
      send: async (command) => {
        calls.push(command.constructor.name);
        return { authorizationData: [{ authorizationToken: token, expiresAt: new Date('2030-01-01T00:00:00Z') }], $metadata: {} };
      },
    };
    const storage = await serve((_req, res) => {
      res.writeHead(200).end(JSON.stringify({ config: { Labels: { a: 'b' } } }));
    });
    const configBody = JSON.stringify({ config: { Labels: { a: 'b' } } });
    const { createHash } = await import('node:crypto');
    const configDigest = `sha256:${createHash('sha256').update(configBody).digest('hex')}`;
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { digest: configDigest, size: configBody.length },
      layers: [],
    });
    const registry = await serve((req, res) => {
      if (req.headers['authorization'] !== `Basic ${token}`) return void res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="ecr"' }).end();
      if (req.url?.includes('/blobs/')) return void res.writeHead(307, { Location: `http://${storage.host}/bucket/blob?X-Amz-Signature=sig` }).end();
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' }).end(manifest);
    });

    const written: string[] = [];
    const credentials = await readEcrCredentials(fakeEcr);
    const client = createRegistryClient({ registry: { host: registry.host, protocol: 'http' }, credentials: async () => credentials, log: (l) => written.push(l) });
    const image = await client.inspectImage('engex/halow', 'x');
    expect(image).toMatchObject({ configDigest, labels: { a: 'b' } });
    expect(calls).toEqual(['GetAuthorizationTokenCommand']);
    expect(storage.hits).toHaveLength(1);
    expect(storage.hits[0]!.headers['authorization']).toBeUndefined();

    written.push(String(credentials.password), JSON.stringify(credentials), inspect(credentials), `${credentials.password}`);
    const everything = written.join('\n');
    expect(everything).toContain('[redacted]');
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain('X-Amz-Signature');
    await registry.close();
    await storage.close();
  });

  it('names rejected credentials without echoing them', async () => {
    const secret = 'S3CR3T-PASSWORD-VALUE';
    const server = await serve((_req, res) => res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="ecr"' }).end());
    const { Secret } = await import('./secret.js');
    const client = createRegistryClient({
      registry: { host: server.host, protocol: 'http' },
      credentials: async () => ({ username: 'AWS', password: new Secret(secret) }),
      retry: fakeTimers().retry,
    });
    const error = (await client.headManifest('engex/halow', 'x').catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/rejected the registry credentials \(401\)/);
    expect(`${error.message}${error.stack}${inspect(error)}`).not.toContain(secret);
    await server.close();
  });
});

describe('parseChallenge', () => {
  it('reads quoted and bare parameters', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope=repository:library/node:pull')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/node:pull' },
    });
    expect(parseChallenge(undefined)).toBeUndefined();
  });
});
