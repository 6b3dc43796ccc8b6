import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { trackConnections, type ConnectionDrain } from './connection-drain.js';

let server: http.Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/**
 * A plain node:http server whose `/slow` answers only when `release()` is called; `slowArrived`
 * resolves once the server is handling it (an event, not a sleep: under load a request can take
 * longer than any fixed delay to arrive, and an idle socket would then be closed by the drain).
 */
async function serve(idleMs: number): Promise<{ port: number; drain: ConnectionDrain; release: () => void; slowArrived: Promise<void> }> {
  let release!: () => void;
  let arrived!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const slowArrived = new Promise<void>((resolve) => (arrived = resolve));
  server = http.createServer((request, response) => {
    if (request.url === '/slow') {
      arrived();
      void released.then(() => response.end('slow'));
    } else response.end('ok');
  });
  const drain = trackConnections(server, { idleMs });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, drain, release, slowArrived };
}

function request(port: number, path: string, agent: http.Agent | false = false) {
  return new Promise<{ body: string; connection: string | undefined }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ body, connection: res.headers['connection'] }));
      })
      .on('error', reject);
  });
}

describe('trackConnections', () => {
  it('never closes a connection under a request, however long the drain', async () => {
    const { port, drain, release, slowArrived } = await serve(50);
    const slow = request(port, '/slow');
    await slowArrived;
    const closed = drain.close();
    // Six idle periods with the request still open: a drain that closed busy sockets would have.
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    expect(await slow).toEqual({ body: 'slow', connection: 'close' });
    await closed;
  });

  it('answers a request sent on an idle keep-alive socket just after the drain starts', async () => {
    const { port, drain } = await serve(1000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect(await request(port, '/', agent)).toEqual({ body: 'ok', connection: 'keep-alive' });
    const closed = drain.close();
    expect(await request(port, '/', agent)).toEqual({ body: 'ok', connection: 'close' });
    await closed;
    agent.destroy();
  });

  it('closes a connection that stays idle for idleMs once draining, then resolves close()', async () => {
    const { port, drain } = await serve(100);
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await drain.close();
    await gone;
    expect(socket.destroyed).toBe(true);
  });
});
