import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeNxArchive } from '../testing/nx-archive.js';
import { createNxCacheWorkspace } from '../testing/nx-workspace.js';
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from '../testing/s3-server.js';
import { createS3Storage } from './nx-cache-s3.js';
import { startNxCacheServer, type NxCacheServer } from './nx-cache-server.js';

const WRITE = 'trusted-agents-write-token-0123';
const READ = 'untrusted-agents-read-token-0123';

describe('the S3 backend on an S3-protocol server (s3rver on loopback)', () => {
  let tmp: string;
  let s3: LocalS3;
  const replicas: NxCacheServer[] = [];
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'engex-nx-s3-'));
    s3 = await startLocalS3(join(tmp, 's3'));
  });
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await s3?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  const storage = (name: string, endpoint = s3.endpoint) =>
    createS3Storage({ bucket: s3.bucket, prefix: 'nx', region: 'us-east-1', endpoint, credentials: S3RVER_CREDENTIALS, spoolDir: join(tmp, `spool-${name}`), deadlineMs: 10_000 });
  const replica = async (name: string) => {
    const server = await startNxCacheServer({ storage: await storage(name), tokens: { read: READ, write: WRITE } });
    replicas.push(server);
    return server;
  };
  const put = (url: string, hash: string, body: Buffer) => fetch(`${url}/v1/cache/${hash}`, { method: 'PUT', body, headers: { Authorization: `Bearer ${WRITE}` } });
  const get = (url: string, hash: string) => fetch(`${url}/v1/cache/${hash}`, { headers: { Authorization: `Bearer ${READ}` } });

  it('needs the test shim: s3rver 3.7.1 alone replaces a key on PUT with If-None-Match: *', async () => {
    const client = new S3Client({ region: 'us-east-1', endpoint: s3.rawEndpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const send = (body: string) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'raw/k', Body: body, IfNoneMatch: '*' }));
    await send('first');
    // Real S3 answers 412 here; s3rver stores the second body.
    await expect(send('second')).resolves.toBeDefined();
    client.destroy();
  });

  it('is write-once across two replicas: the second upload of a hash is 409, and either replica serves it', async () => {
    const [a, b] = [await replica('a'), await replica('b')];
    const entry = makeNxArchive({ terminalOutput: 'from replica a' });
    expect((await put(a.url, '101', entry)).status).toBe(200);
    expect((await put(b.url, '101', makeNxArchive({ terminalOutput: 'poison' }))).status).toBe(409);
    const hit = await get(b.url, '101');
    expect([hit.status, Buffer.from(await hit.arrayBuffer()).equals(entry)]).toEqual([200, true]);
    expect((await get(a.url, '102')).status).toBe(404);
    expect(a.storage).toBe(`s3://${s3.bucket}/nx/`);
  });

  it('lets exactly one of many concurrent uploads win across replicas (the conditional write decides)', async () => {
    const servers = [await replica('c'), await replica('d')];
    const bodies = Array.from({ length: 8 }, (_, i) => makeNxArchive({ terminalOutput: `candidate ${i} `.repeat(5_000) }));
    const refusedBefore = s3.refused();
    const statuses = await Promise.all(bodies.map((body, i) => put(servers[i % 2]!.url, '202', body).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    const stored = Buffer.from(await (await get(servers[1]!.url, '202')).arrayBuffer());
    expect(stored.equals(bodies[statuses.indexOf(200)]!)).toBe(true);
    // Some of the losers got past the early HEAD: S3's 412, not the replica, refused them.
    expect(s3.refused() - refusedBefore).toBeGreaterThan(0);
  });

  it('treats an object that fails to read back as a miss and deletes it', async () => {
    const server = await replica('e');
    const client = new S3Client({ region: 'us-east-1', endpoint: s3.rawEndpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'nx/303', Body: '' }));
    client.destroy();
    expect((await get(server.url, '303')).status).toBe(404);
    expect((await put(server.url, '303', makeNxArchive())).status).toBe(200);
    expect((await get(server.url, '303')).status).toBe(200);
  });

  it('serves real Nx: stored through one replica, a clean agent hits through the other', { timeout: 120_000 }, async () => {
    const ws = await createNxCacheWorkspace();
    try {
      const [a, b] = [await replica('f'), await replica('g')];
      const first = await ws.agent('trusted', { url: a.url, token: WRITE });
      expect(first.exitCode, first.output).toBe(0);
      const second = await ws.agent('untrusted', { url: b.url, token: READ });
      expect(second.exitCode, second.output).toBe(0);
      expect(second.output).toContain('> nx run a:make  [remote cache]');
      expect(await ws.runs()).toEqual({ a: 1, b: 1 });
      expect(await ws.outputs()).toEqual({ a: 'made from input of a\n', b: 'made from input of b\n' });
    } finally {
      await ws.remove();
    }
  });
});
