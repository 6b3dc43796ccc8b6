import { createReadStream, createWriteStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkNxArchiveFile } from './nx-cache-archive.js';
import type { CacheDecision } from './nx-cache-protocol.js';
import { spoolName, type NxCacheStorage } from './nx-cache-storage.js';

// Carrying out one planned request against the storage: stream an entry out (checked on every
// read), or receive an upload into the spool, check it, and publish it write-once.

export function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): { status: number; bytes: number } {
  const body = `${message}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
  return { status, bytes: 0 };
}

/** Answers the request as `decision` says; resolves with the status and body bytes for the access line. */
export async function handle(
  decision: CacheDecision,
  req: IncomingMessage,
  res: ServerResponse,
  storage: NxCacheStorage,
  log: (line: string) => void,
  writeTimeoutMs: number,
): Promise<{ status: number; bytes: number }> {
  if (decision.kind === 'reject') {
    // An unread upload body would otherwise be parsed as the next request: close the connection.
    if (req.method === 'PUT' || req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false;
    return reply(res, decision.status, decision.message, decision.headers);
  }
  if (decision.kind === 'get') {
    const entry = await storage.fetch(decision.hash);
    if (entry === undefined) return reply(res, 404, 'The record was not found');
    try {
      // Checked on every read: a damaged entry (bit rot, a partial copy, an old bad upload) is a
      // miss and is moved aside, never served again to fail another build.
      const verdict = await checkNxArchiveFile(entry.path);
      if (!verdict.ok) {
        await storage.quarantine(decision.hash);
        log(`nx-cache quarantined ${decision.hash.slice(0, 12)}: ${verdict.reason}`);
        return reply(res, 404, 'The record was not found');
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': entry.size });
      // A client that stops reading must not hold the socket and the file open for long.
      const writeTimer = setTimeout(() => res.destroy(new Error(`response not read within ${writeTimeoutMs} ms`)), writeTimeoutMs);
      writeTimer.unref();
      try {
        await pipeline(createReadStream(entry.path), res);
      } finally {
        clearTimeout(writeTimer);
      }
      return { status: 200, bytes: entry.size };
    } finally {
      await entry.release();
    }
  }
  // Cheap early answer; publish below is what really guarantees write-once.
  if (await storage.has(decision.hash)) {
    res.shouldKeepAlive = false;
    return reply(res, 409, 'Cannot override an existing record');
  }
  const temp = join(storage.spoolDir, spoolName(decision.hash));
  try {
    const received = await receive(req, temp, decision.length);
    if (received !== decision.length) {
      res.shouldKeepAlive = false;
      return reply(res, 400, `Body of ${received} bytes, Content-Length said ${decision.length}; nothing stored`);
    }
    const verdict = await checkNxArchiveFile(temp);
    if (!verdict.ok) return reply(res, 400, `Not an Nx cache archive: ${verdict.reason}; nothing stored`);
    const outcome = await storage.publish(decision.hash, temp, received);
    if (outcome === 'exists') return reply(res, 409, 'Cannot override an existing record');
    // 200, not the OpenAPI document's 202: Nx's client accepts only 200 (see the top of this file).
    reply(res, 200, 'Stored');
    return { status: 200, bytes: received };
  } finally {
    // Published or not, the temp name goes: a truncated or refused upload leaves nothing behind.
    await unlink(temp).catch(() => {});
  }
}

/** Streams the body into `temp` (synced to disk); returns the bytes received, stopping past `length`. */
async function receive(req: IncomingMessage, temp: string, length: number): Promise<number> {
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > length) callback(new Error(`body longer than its Content-Length ${length}`));
      else callback(null, chunk);
    },
  });
  await pipeline(req, counter, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
  // On disk before it becomes visible: a crash must not leave a short entry under a final name.
  const file = await open(temp, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
  return received;
}
