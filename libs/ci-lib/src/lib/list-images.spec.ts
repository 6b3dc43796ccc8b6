import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFaultServer, type FaultServer } from '../testing/fault-server.js';
import { uploadTestImage } from '../testing/oci-upload.js';
import { describeNeeding, registryRequirement } from '../testing/requirements.js';
import { startLocalRegistry as startRegistry, type LocalRegistry as RunningRegistry } from './local-registry.js';
import { createEcrClient, describeEcrImages } from './ecr-credentials.js';
import { listEcrImages, renderImagesTable } from './list-images.js';
import { createRegistryClient } from './registry-client.js';

// The ECR path of `images`: DescribeImages from the real SDK client against a 127.0.0.1 endpoint
// speaking ECR's JSON protocol, then each image's revision label through the registry API (here
// the real local registry holding the same images).

const credentials = { accessKeyId: 'AKIALISTIMAGESTEST01', secretAccessKey: 'listImagesTestSecret/not+real000000000000' };
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describeNeeding([registryRequirement()], 'listEcrImages', () => {
  let registry: RunningRegistry;
  let ecr: FaultServer;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await ecr?.close();
    await registry?.stop();
  });

  it('orders by push time, takes the limit, and reads each revision label', async () => {
    const a = await uploadTestImage(registry.host, 'engex/halow', A, { content: 'a', labels: { 'org.opencontainers.image.revision': A }, created: '2026-11-28T10:00:00Z' });
    const b = await uploadTestImage(registry.host, 'engex/halow', B, { content: 'b', labels: { 'org.opencontainers.image.revision': B }, created: '2026-11-29T10:00:00Z' });
    const gone = `sha256:${'0'.repeat(64)}`;
    ecr = await startFaultServer({
      behaviours: [
        {
          kind: 'ok',
          headers: { 'Content-Type': 'application/x-amz-json-1.1' },
          body: JSON.stringify({
            imageDetails: [
              { imageDigest: a.manifestDigest, imageTags: [A], imageSizeInBytes: 1000, imagePushedAt: 1_764_324_000 },
              { imageDigest: b.manifestDigest, imageTags: [B, 'v1.2.0'], imageSizeInBytes: 2_500_000, imagePushedAt: 1_764_410_400 },
              { imageDigest: gone, imageTags: [], imageSizeInBytes: 10, imagePushedAt: 1_700_000_000 },
            ],
          }),
        },
      ],
    });
    const client = await createEcrClient('us-east-1', { endpoint: ecr.url, credentials, deadlineMs: 5000 });
    const details = await describeEcrImages(client, '460210468233', 'engex/halow', { deadlineMs: 5000 });
    expect(ecr.requests[0]!.headers['x-amz-target']).toBe('AmazonEC2ContainerRegistry_V20150921.DescribeImages');
    const rows = await listEcrImages(details!, createRegistryClient({ registry: { host: registry.host, protocol: 'http' } }), 'engex/halow', 3);
    expect(rows.map((r) => [r.digest, r.tags, r.revision, r.created, r.sizeBytes])).toEqual([
      [b.manifestDigest, [B, 'v1.2.0'], { ok: true, value: B }, '2026-11-29T10:00:00Z', 2_500_000],
      [a.manifestDigest, [A], { ok: true, value: A }, '2026-11-28T10:00:00Z', 1000],
      [gone, [], { ok: false, reason: 'manifest gone' }, '2023-11-14T22:13:20Z', 10],
    ]);
    expect(renderImagesTable(rows).replaceAll(a.manifestDigest, '<a>').replaceAll(b.manifestDigest, '<b>').replaceAll(gone, '<gone>')).toMatchInlineSnapshot(`
      "CREATED               REVISION       SIZE     DIGEST                                                                   TAGS
      2026-11-29T10:00:00Z  bbbbbbbbbbbb   2.4 MiB  <b>  v1.2.0, bbbbbbbbbbbb
      2026-11-28T10:00:00Z  aaaaaaaaaaaa   1000 B   <a>  aaaaaaaaaaaa
      2023-11-14T22:13:20Z  manifest gone  10 B     <gone>
      "
    `);
  });

  it('is undefined when ECR says the repository does not exist', async () => {
    const server = await startFaultServer({
      behaviours: [{ kind: 'ok', status: 400, headers: { 'Content-Type': 'application/x-amz-json-1.1' }, body: '{"__type":"RepositoryNotFoundException","message":"no"}' }],
    });
    try {
      const client = await createEcrClient('us-east-1', { endpoint: server.url, credentials, deadlineMs: 5000 });
      expect(await describeEcrImages(client, '460210468233', 'engex/none', { deadlineMs: 5000 })).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});
