// bench:nx-cache's faulty shared caches, on loopback: each misbehaves one way (run.mjs part 3 and 4).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

/** The faults the bench injects, in its tables' order (`old-202` is only for real Nx). */
export const FAULTS = ['down', '500', '403', 'not-a-tar', 'hang', '507'];

/** A shared cache that misbehaves one way, on loopback. */
export async function startFault(kind) {
  if (kind === 'down') {
    const s = createServer();
    await new Promise((r) => s.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${s.address().port}`;
    await new Promise((r) => s.close(r));
    return { url, close: async () => {} };
  }
  const sockets = new Set();
  const server = createServer((req, res) => {
    req.resume();
    if (kind === 'hang') return;
    if (kind === 'old-202') {
      // The server before this change: 202 for a stored PUT, then 409 for Nx's retry.
      if (req.method === 'PUT') {
        const status = server.stored.has(req.url) ? 409 : 202;
        server.stored.add(req.url);
        server.puts++;
        return res.writeHead(status).end();
      }
      return res.writeHead(404).end();
    }
    const status = { 500: 500, 403: 403, 'not-a-tar': 200, 507: req.method === 'PUT' ? 507 : 404 }[kind];
    res.writeHead(status, { 'Content-Type': 'text/html' }).end(kind === 'not-a-tar' ? '<html>captive portal</html>' : '');
  });
  server.stored = new Set();
  server.puts = 0;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    puts: () => server.puts,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * A server (`startServer(dir)`, e.g. `engex-ci nx-cache serve --dir`) whose folder `dir` is a
 * 256 KiB tmpfs: a real ENOSPC. Needs root; else undefined.
 */
export async function startFullDiskServer(dir, startServer) {
  mkdirSync(dir);
  const mount = spawn('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'ignore' });
  const code = await new Promise((r) => mount.on('exit', r).on('error', () => r(1)));
  if (code !== 0) return undefined;
  // Fill it to the last byte: the next upload meets ENOSPC.
  try {
    for (let i = 0; ; i++) writeFileSync(join(dir, `filler-${i}`), Buffer.alloc(4096));
  } catch {
    // full
  }
  const server = await startServer(dir);
  return {
    url: server.url,
    close: async () => {
      await server.stop();
      spawn('umount', [dir], { stdio: 'ignore' });
    },
  };
}
