import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceConfigError, ServiceStartError } from './errors.js';
import { describeStartupFailure, startService, type RunningService } from './run-service.js';
import { defineService } from './service.js';
import { fixedProcessProbe } from './test-app.js';

/** A request the test holds open: the route answers only when `release()` is called. */
function gate() {
  let release!: () => void;
  let entered!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const arrived = new Promise<void>((r) => (entered = r));
  return { release, released, arrived, entered };
}

let current = gate();
const service = defineService({
  name: 'demo',
  defaultPort: 8080,
  routes: async (app) => {
    app.get('/wait', async () => {
      current.entered();
      await current.released;
      return { done: true };
    });
  },
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function get(port: number, path: string, agent: http.Agent | false = false): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .on('error', reject);
  });
}

const silent = { write: () => undefined };
let running: RunningService | undefined;
let signals: EventEmitter;

async function start(env: Record<string, string> = {}): Promise<RunningService> {
  signals = new EventEmitter();
  const port = await freePort();
  running = await startService(service, {
    env: { HOST: '127.0.0.1', PORT: String(port), ...env },
    signals: signals as never,
    probe: fixedProcessProbe(),
    logDestination: silent,
  });
  return running;
}

afterEach(async () => {
  current.release();
  current = gate();
  if (running) {
    running.shutdown('SIGTERM');
    running.shutdown('SIGTERM');
    await running.stopped;
    await running.app.close();
    running = undefined;
  }
});

describe('startService', () => {
  it('listens on PORT and HOST and serves the shared routes', async () => {
    const svc = await start();
    expect(svc.port).toBe(svc.config.port);
    expect(await get(svc.port, '/healthz')).toMatchObject({ status: 200, body: '{"status":"ok"}' });
  });

  it('drains on SIGTERM: /readyz turns 503 while it still serves, then it stops with 0', async () => {
    const svc = await start({ SHUTDOWN_DELAY_MS: '3000' });
    signals.emit('SIGTERM', 'SIGTERM');
    expect(await get(svc.port, '/readyz')).toMatchObject({ status: 503, body: '{"status":"draining"}' });
    expect(await get(svc.port, '/healthz')).toMatchObject({ status: 200 });
    expect(await svc.stopped).toBe(0);
    await expect(get(svc.port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('lets an in-flight request finish before stopping with 0', async () => {
    const svc = await start();
    const pending = get(svc.port, '/wait');
    await current.arrived;
    signals.emit('SIGTERM', 'SIGTERM');
    let stoppedEarly = false;
    void svc.stopped.then(() => (stoppedEarly = true));
    await new Promise((r) => setImmediate(r));
    expect(stoppedEarly).toBe(false);
    current.release();
    expect(await pending).toMatchObject({ status: 200, body: '{"done":true}' });
    expect(await svc.stopped).toBe(0);
  });

  it('closes idle keep-alive connections instead of waiting for their timeout', async () => {
    const svc = await start({ SHUTDOWN_TIMEOUT_MS: '60000' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(svc.port, '/healthz', agent);
    expect(first.headers['connection']).toBe('keep-alive');
    const [socket] = Object.values(agent.freeSockets).flat();
    expect(socket).toBeDefined();
    const closed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));
    signals.emit('SIGINT', 'SIGINT');
    await closed;
    expect(await svc.stopped).toBe(0);
    agent.destroy();
  });

  it('forces the exit with 1 on a second signal while a request hangs', async () => {
    const svc = await start();
    const pending = get(svc.port, '/wait').catch((error: Error) => error);
    await current.arrived;
    signals.emit('SIGTERM', 'SIGTERM');
    signals.emit('SIGINT', 'SIGINT');
    expect(await svc.stopped).toBe(1);
    await svc.app.server.closeAllConnections();
    expect(await pending).toBeInstanceOf(Error);
  });

  it('forces the exit with 1 when SHUTDOWN_TIMEOUT_MS passes first', async () => {
    const svc = await start({ SHUTDOWN_TIMEOUT_MS: '200' });
    const pending = get(svc.port, '/wait').catch((error: Error) => error);
    await current.arrived;
    signals.emit('SIGTERM', 'SIGTERM');
    expect(await svc.stopped).toBe(1);
    svc.app.server.closeAllConnections();
    await pending;
  });

  it('refuses a bad environment before listening, naming the variable', async () => {
    const error = await startService(service, {
      env: { PORT: '70000' },
      signals: new EventEmitter() as never,
      probe: fixedProcessProbe(),
      logDestination: silent,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceConfigError);
    const failure = describeStartupFailure(error);
    expect(failure.exitCode).toBe(2);
    expect(failure.message).toContain('PORT="70000": expected an integer from 1 to 65535');
  });

  it('reports a port already in use as a ServiceStartError', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const error = await startService(service, {
        env: { HOST: '127.0.0.1', PORT: String(port) },
        signals: new EventEmitter() as never,
        probe: fixedProcessProbe(),
        logDestination: silent,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceStartError);
      expect(describeStartupFailure(error)).toEqual({
        exitCode: 1,
        message: expect.stringContaining(`Cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`),
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('describes an unexpected failure with its stack', () => {
    expect(describeStartupFailure(new TypeError('boom')).message).toMatch(/^Service failed to start: TypeError: boom\n/);
  });
});
