import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';

export interface LocalS3 {
  /** The endpoint to give the SDK (path-style), e.g. `http://127.0.0.1:4569`. */
  endpoint: string;
  /** s3rver itself, without the conditional-write shim. */
  rawEndpoint: string;
  bucket: string;
  /** Conditional PUTs the shim refused with 412. */
  refused: () => number;
  close(): Promise<void>;
}

/** Credentials s3rver accepts (its documented defaults). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * An S3-protocol server on loopback: s3rver 3.7.1 storing in `directory`, behind a small shim.
 * Why the shim: s3rver honours `If-None-Match` only on GET; a `PUT` with `If-None-Match: *` on an
 * existing key replaces it (checked in nx-cache-s3.spec.ts), where S3 answers 412
 * PreconditionFailed. The shim adds exactly that, atomically per key (conditional PUTs of one key
 * are serialized, and the existence check and the write happen under that lock), and passes every
 * other request through byte for byte, signature headers included.
 */
export async function startLocalS3(directory: string, bucket = 'nx-cache'): Promise<LocalS3> {
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port: rawPort } = await s3rver.run();
  const locks = new Map<string, Promise<void>>();
  let refused = 0;

  const forward = (req: IncomingMessage, res: ServerResponse, done: () => void) => {
    const upstream = request({ host: '127.0.0.1', port: rawPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', done);
      answer.on('error', done);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      done();
    });
    req.pipe(upstream);
  };
  const exists = (path: string) =>
    new Promise<boolean>((resolve, reject) => {
      request({ host: '127.0.0.1', port: rawPort, method: 'HEAD', path }, (answer) => {
        answer.resume();
        resolve(answer.statusCode === 200);
      })
        .on('error', reject)
        .end();
    });

  const shim = createServer((req, res) => {
    if (req.method !== 'PUT' || req.headers['if-none-match'] !== '*') return forward(req, res, () => {});
    const key = (req.url ?? '').split('?')[0]!;
    req.pause();
    const previous = locks.get(key) ?? Promise.resolve();
    const turn = previous.then(async () => {
      if (await exists(key)) {
        refused++;
        req.resume();
        const body =
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>';
        res.writeHead(412, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) }).end(body);
        return;
      }
      delete req.headers['if-none-match'];
      await new Promise<void>((resolve) => forward(req, res, resolve));
    });
    const settled = turn.catch(() => {});
    locks.set(key, settled);
    void settled.then(() => {
      if (locks.get(key) === settled) locks.delete(key);
    });
  });
  await new Promise<void>((resolve) => shim.listen(0, '127.0.0.1', resolve));
  const port = (shim.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    rawEndpoint: `http://127.0.0.1:${rawPort}`,
    bucket,
    refused: () => refused,
    close: async () => {
      shim.closeAllConnections();
      await new Promise<void>((resolve) => shim.close(() => resolve()));
      await s3rver.close();
    },
  };
}
