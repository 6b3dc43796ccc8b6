import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spoolName, type NxCacheStorage } from './nx-cache-storage.js';

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix, e.g. `nx/` (a trailing slash is added when missing). Default none. */
  prefix?: string;
  region: string;
  /** An S3-compatible endpoint (MinIO, s3rver in tests). Default: AWS. */
  endpoint?: string;
  /** Path-style addressing, needed by most S3-compatible servers. Default: true when `endpoint` is set. */
  forcePathStyle?: boolean;
  /** Local folder for downloads being checked before they are served. */
  spoolDir: string;
  /** One S3 call, whole body included. Default 60 s. */
  deadlineMs?: number;
  /** Static credentials for tests; default the SDK's chain (instance role on the cache host). */
  credentials?: S3ClientConfig['credentials'];
}

const notFound = (error: unknown): boolean => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
};

/**
 * Entries as objects `<prefix><hash>` in one bucket, shared by any number of stateless replicas.
 * Write-once holds across replicas because each upload is a conditional write (`If-None-Match: *`,
 * S3 answers 412 when the key exists): S3, not a replica, decides the one winner. Eviction is the
 * bucket's lifecycle rule (see the README), so replicas keep no state at all.
 */
export async function createS3Storage(options: S3StorageOptions): Promise<NxCacheStorage> {
  const deadlineMs = options.deadlineMs ?? 60_000;
  const prefix = options.prefix ? options.prefix.replace(/\/?$/, '/') : '';
  await mkdir(options.spoolDir, { recursive: true });
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint, forcePathStyle: options.forcePathStyle ?? true } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    maxAttempts: 2,
    // Checksums only where S3 requires them: with the SDK's default a streamed PUT goes out as
    // aws-chunked with a trailing checksum, which S3-compatible stores (s3rver, older MinIO) store
    // as the object's bytes. The archive is checked on every read anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: deadlineMs }),
  });
  const key = (hash: string) => `${prefix}${hash}`;
  const bucket = options.bucket;
  const within = () => ({ abortSignal: AbortSignal.timeout(deadlineMs) });
  return {
    describe: `s3://${bucket}/${prefix}`,
    spoolDir: options.spoolDir,
    async fetch(hash) {
      const response = await client
        .send(new GetObjectCommand({ Bucket: bucket, Key: key(hash) }), within())
        .catch((error: unknown) => (notFound(error) ? undefined : Promise.reject(error)));
      if (response?.Body === undefined) return undefined;
      const path = join(options.spoolDir, spoolName(hash));
      try {
        await pipeline(response.Body as Readable, createWriteStream(path, { flags: 'wx' }), { signal: AbortSignal.timeout(deadlineMs) });
      } catch (error) {
        await unlink(path).catch(() => {});
        throw error;
      }
      const size = Number(response.ContentLength ?? 0);
      return { path, size, release: () => unlink(path).catch(() => {}) };
    },
    has: (hash) =>
      client.send(new HeadObjectCommand({ Bucket: bucket, Key: key(hash) }), within()).then(
        () => true,
        (error: unknown) => (notFound(error) ? false : Promise.reject(error)),
      ),
    async publish(hash, path, size) {
      try {
        await client.send(
          new PutObjectCommand({ Bucket: bucket, Key: key(hash), Body: createReadStream(path), ContentLength: size, ContentType: 'application/octet-stream', IfNoneMatch: '*' }),
          within(),
        );
        return 'stored';
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
        // 412: the key exists; 409: a concurrent conditional write to the same key is in progress.
        if (e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412 || e?.$metadata?.httpStatusCode === 409) return 'exists';
        throw error;
      }
    },
    async quarantine(hash) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(hash) }), within());
    },
  };
}
