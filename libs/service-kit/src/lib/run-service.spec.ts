import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceConfigError, ServiceStartError } from './errors.js';
import { describeStartupFailure, startService, type RunningService } from './run-service.js';
import { defineService } from './service.js';
import { freePort } from './service-process.js';
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

interface LoadOutcome {
  /** Requests written to a socket that got no complete 200 response: what a rollout must never cause. */
  failed: string[];
  /** Clients stopped by ECONNREFUSED: their next request was never sent, the listener was gone. */
  refused: number;
  /** Clients that left after a `Connection: close` answer (with `leaveOnClose`). */
  movedOnClose: number;
  servedAfterSignal: number;
  /** Responses started after the signal that still promised keep-alive. */
  keepAliveAfterSignal: number;
}

/**
 * `clients` loops, each on its own keep-alive agent with one socket, sending GET /healthz until
 * the connection is refused or `maxRequestsPerClient` is reached (so the test is bounded even if
 * the server never stops). A request is "failed" when it was written to a socket and got an error
 * or a non-200 instead of a complete response; ECONNREFUSED is not a failure: no request was sent.
 * With `leaveOnClose`, a client stops at its first `Connection: close` answer, as one behind a load
 * balancer that stopped routing here reconnects to another pod. Without it, it reconnects here;
 * only right at the signal is that safe: once the listener closes, the kernel resets connections
 * still queued in its accept backlog, which is why SHUTDOWN_DELAY_MS must cover deregistration.
 */
function keepAliveLoad(port: number, options: { clients: number; maxRequestsPerClient: number; leaveOnClose: boolean }) {
  const { clients, maxRequestsPerClient, leaveOnClose } = options;
  const outcome: LoadOutcome = { failed: [], refused: 0, movedOnClose: 0, servedAfterSignal: 0, keepAliveAfterSignal: 0 };
  let signalledAt = Number.POSITIVE_INFINITY;
  let warm = 0;
  let markWarm!: () => void;
  const warmedUp = new Promise<void>((resolve) => (markWarm = resolve));
  const one = (agent: http.Agent) =>
    new Promise<'ok' | 'refused' | 'closed'>((resolve) => {
      const sentAt = performance.now();
      const request = http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) outcome.failed.push(`status ${res.statusCode}`);
          else if (sentAt > signalledAt) {
            outcome.servedAfterSignal++;
            if (res.headers['connection'] !== 'close') outcome.keepAliveAfterSignal++;
          }
          resolve(res.headers['connection'] === 'close' ? 'closed' : 'ok');
        });
        res.on('error', (error) => {
          outcome.failed.push(`response: ${error.message}`);
          resolve('ok');
        });
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') resolve('refused');
        else {
          outcome.failed.push(`${error.code ?? ''} ${error.message}`);
          resolve('ok');
        }
      });
    });
  const client = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < maxRequestsPerClient; i++) {
        const result = await one(agent);
        if (result === 'refused') {
          outcome.refused++;
          return;
        }
        if (result === 'closed' && leaveOnClose) {
          outcome.movedOnClose++;
          return;
        }
        if (i === 2 && ++warm === clients) markWarm();
      }
    } finally {
      agent.destroy();
    }
  };
  const done = Promise.all(Array.from({ length: clients }, client)).then(() => outcome);
  return { warmedUp, done, signalled: () => (signalledAt = performance.now()) };
}

const silent = { write: (_line: string) => undefined };
const PLANTED_TOKEN = 'pl4nted-b34rer-t0ken';
const PLANTED_COOKIE = 'pl4nted-c00kie';

/** Writes `chunks` on a raw socket and resolves with everything read until the server closes it. */
function rawExchange(port: number, chunks: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => chunks.forEach((c) => socket.write(c)));
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    socket.on('close', () => resolve(answer));
  });
}
let running: RunningService | undefined;
let signals: EventEmitter;

async function start(env: Record<string, string> = {}, logDestination = silent): Promise<RunningService> {
  signals = new EventEmitter();
  // As serviceBundle's start: a new port when another process took the free one before the bind.
  for (let attempt = 1; ; attempt++) {
    try {
      running = await startService(service, {
        env: { HOST: '127.0.0.1', PORT: String(await freePort()), ...env },
        signals: signals as never,
        probe: fixedProcessProbe(),
        logDestination,
      });
      return running;
    } catch (error) {
      if (attempt === 3 || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
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

  /** 100 keep-alive clients in full flow, SIGTERM, and every answer in: the service exited 0 and no request failed. */
  const throughSigterm = async (env: Record<string, string>, leaveOnClose: boolean) => {
    const svc = await start({ SHUTDOWN_TIMEOUT_MS: '20000', ...env });
    const load = keepAliveLoad(svc.port, { clients: 100, maxRequestsPerClient: 400, leaveOnClose });
    await load.warmedUp;
    signals.emit('SIGTERM', 'SIGTERM');
    load.signalled();
    const outcome = await load.done;
    expect(await svc.stopped).toBe(0);
    expect(outcome.failed).toEqual([]);
    return outcome;
  };

  it('drops no request of 100 keep-alive clients under load through SIGTERM', async () => {
    const outcome = await throughSigterm({}, false);
    // Each client was mid-request at the signal, got its answer, then found the listener gone.
    expect(outcome.servedAfterSignal).toBeGreaterThan(0);
    expect(outcome.keepAliveAfterSignal).toBe(0);
    expect(outcome.refused).toBe(100);
  });

  it('closes the listener in the signal’s own tick when there is no delay', async () => {
    // Otherwise the first `Connection: close` answers send their clients back to a listener about
    // to close, into an accept queue the kernel then resets.
    const svc = await start();
    signals.emit('SIGTERM', 'SIGTERM');
    expect(svc.app.server.listening).toBe(false);
    expect(await svc.stopped).toBe(0);
  });

  it('drops no request through SHUTDOWN_DELAY_MS when a balancer moves closed clients elsewhere', async () => {
    const outcome = await throughSigterm({ SHUTDOWN_DELAY_MS: '300' }, true);
    expect(outcome.keepAliveAfterSignal).toBe(0);
    expect(outcome.refused + outcome.movedOnClose).toBe(100);
  });

  it('answers with Connection: close once draining, so clients move elsewhere', async () => {
    const svc = await start({ SHUTDOWN_DELAY_MS: '3000' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(svc.port, '/healthz', agent)).headers['connection']).toBe('keep-alive');
    signals.emit('SIGTERM', 'SIGTERM');
    expect((await get(svc.port, '/healthz', agent)).headers['connection']).toBe('close');
    expect((await get(svc.port, '/version', agent)).headers['connection']).toBe('close');
    agent.destroy();
  });

  it.each([
    ['headers over the size limit', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: ${'f'.repeat(20_000)}\r\n`, 431],
    ['a malformed header line', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\u0001: y\r\n', 400],
  ])('never logs the raw bytes of a request with %s, even at trace', async (_case, head, status) => {
    const lines: string[] = [];
    const svc = await start({ LOG_LEVEL: 'trace' }, { write: (line: string) => void lines.push(line) });
    const request = head + `Authorization: Bearer ${PLANTED_TOKEN}\r\nCookie: session=${PLANTED_COOKIE}\r\n\r\n`;
    const answer = await rawExchange(svc.port, [request]);
    expect(answer).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(lines.find((l) => l.includes('"client error"'))).toBeDefined();
    const all = lines.join('');
    expect(all).not.toContain(PLANTED_TOKEN);
    expect(all).not.toContain(PLANTED_COOKIE);
    expect(all).not.toContain('rawPacket');
  });

  it('closes a socket that drips its headers a byte at a time once HEADERS_TIMEOUT_MS passes', async () => {
    const svc = await start({ HEADERS_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '1000' });
    const socket = net.connect(svc.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const started = performance.now();
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - started)));
    socket.on('error', () => undefined);
    const head = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'s'.repeat(200)}`;
    let sent = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed && sent < head.length) socket.write(head[sent++]!);
    }, 20);
    try {
      // 500 ms allowed, checked every 125 ms; 5 s leaves room for a loaded machine, not for Node's 30 s check.
      expect(await closed).toBeLessThan(5000);
    } finally {
      clearInterval(drip);
    }
    expect(answer).toMatch(/^HTTP\/1.1 408 /);
    // It was still sending: the header had not ended when the server gave up.
    expect(sent).toBeLessThan(head.length);
  });

  it('lets an idle keep-alive connection outlive HEADERS_TIMEOUT_MS', async () => {
    const svc = await start({ HEADERS_TIMEOUT_MS: '200', REQUEST_TIMEOUT_MS: '200' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await get(svc.port, '/healthz', agent);
    const [socket] = Object.values(agent.freeSockets).flat();
    let closed = false;
    socket!.once('close', () => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(closed).toBe(false);
    expect((await get(svc.port, '/healthz', agent)).status).toBe(200);
    agent.destroy();
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
