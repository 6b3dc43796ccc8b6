import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

// The real artifact the image ships; the `test` target depends on `build`, so it is fresh.
const BUNDLE = fileURLToPath(new URL('../dist/main.cjs', import.meta.url));

interface Server {
  child: ChildProcess;
  port: number;
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
  waitForLog: (msg: string) => Promise<Record<string, unknown>>;
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

beforeAll(() => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npx nx run @engex/halow:build\` first.`);
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the bundle with a clean env (no APP_* leaking in from CI) and collects its JSON logs. */
function run(env: Record<string, string>, port = 0): Server {
  const child = spawn(process.execPath, [BUNDLE], {
    env: { PATH: process.env['PATH'] ?? '', HOST: '127.0.0.1', ...(port ? { PORT: String(port) } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const logs: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (r: Record<string, unknown>) => void }[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      logs.push(record);
      for (const w of waiters.filter((w) => String(record['msg']).startsWith(w.msg))) w.resolve(record);
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLog = (msg: string) => {
    const seen = logs.find((r) => String(r['msg']).startsWith(msg));
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      waiters.push({ msg, resolve });
      void exited.then((code) => reject(new Error(`exited with ${code} before logging "${msg}"; stderr: ${stderr}`)));
    });
  };
  return { child, port, logs, stderr: () => stderr, exited, waitForLog };
}

async function start(env: Record<string, string> = {}): Promise<Server> {
  const server = run(env, await freePort());
  await server.waitForLog('Server listening at');
  return server;
}

function get(port: number, path: string, agent: http.Agent | false = false) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/**
 * A POST /hello whose body the test sends later. `Expect: 100-continue` makes the server confirm
 * it has parsed the headers, so the request is provably in flight before any signal is sent.
 */
async function slowPost(port: number, name: string) {
  const body = JSON.stringify({ name });
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8').on('data', (c: string) => (received += c));
  const ended = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  socket.write(
    `POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await new Promise<void>((resolve, reject) => {
    const check = () => (received.startsWith('HTTP/1.1 100 Continue') ? resolve() : undefined);
    socket.on('data', check);
    socket.on('close', () => reject(new Error(`closed before 100 Continue: ${received}`)));
  });
  socket.write(body.slice(0, 5));
  return {
    finish: () => socket.end(body.slice(5)),
    response: ended.then((raw) => raw.slice(raw.lastIndexOf('\r\n\r\n') + 4)),
    raw: ended,
  };
}

describe('the bundled server (dist/main.cjs)', () => {
  it('answers /healthz, /version from the build env, and /hello', async () => {
    const server = await start({
      APP_REVISION: 'deadbeef',
      APP_CREATED: '2024-01-01T00:00:00Z',
      APP_SOURCE: 'https://github.com/highspot/halow',
      APP_BUILD_URL: 'https://buildkite.com/highspot/halow/builds/1',
      APP_VERSION: '1.0.0',
    });
    expect(await get(server.port, '/healthz')).toEqual({ status: 200, body: '{"status":"ok"}' });
    expect(JSON.parse((await get(server.port, '/version')).body)).toEqual({
      revision: 'deadbeef',
      created: '2024-01-01T00:00:00Z',
      buildUrl: 'https://buildkite.com/highspot/halow/builds/1',
      source: 'https://github.com/highspot/halow',
      version: '1.0.0',
    });
    expect(await get(server.port, '/hello?name=x')).toEqual({ status: 200, body: '{"message":"hello, x"}' });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    // Logged after the response is sent, so only certain to be there once the process is gone.
    expect(server.logs.find((r) => r['msg'] === 'request completed' && r['route'] === '/hello')).toMatchObject({
      level: 'info',
      service: 'halow',
      path: '/hello',
      statusCode: 200,
      reqId: expect.any(String),
    });
  });

  it('finishes an in-flight request after SIGTERM, then exits 0', async () => {
    const server = await start();
    const request = await slowPost(server.port, 'slow');
    server.child.kill('SIGTERM');
    await server.waitForLog('draining');
    request.finish();
    const raw = await request.raw;
    expect(raw).toMatch(/\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(await request.response).toBe('{"message":"hello, slow"}');
    expect(await server.exited).toBe(0);
    expect(server.logs.map((r) => r['msg'])).toContain('stopped');
  });

  it('answers /readyz with 503 while draining (SHUTDOWN_DELAY_MS) and still exits 0', async () => {
    const server = await start({ SHUTDOWN_DELAY_MS: '3000' });
    expect(await get(server.port, '/readyz')).toEqual({ status: 200, body: '{"status":"ready"}' });
    const request = await slowPost(server.port, 'during-drain');
    server.child.kill('SIGTERM');
    await server.waitForLog('draining');
    expect(await get(server.port, '/readyz')).toEqual({ status: 503, body: '{"status":"draining"}' });
    request.finish();
    expect(await request.response).toBe('{"message":"hello, during-drain"}');
    expect(await server.exited).toBe(0);
  });

  it('closes idle keep-alive connections on SIGTERM instead of waiting out their 65 s', async () => {
    const server = await start({ SHUTDOWN_TIMEOUT_MS: '30000' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(server.port, '/healthz', agent)).status).toBe(200);
    const [socket] = Object.values(agent.freeSockets).flat();
    const closed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));
    server.child.kill('SIGTERM');
    await closed;
    expect(await server.exited).toBe(0);
    agent.destroy();
  });

  it('exits non-zero at once on a second signal', async () => {
    const server = await start({ SHUTDOWN_TIMEOUT_MS: '60000' });
    await slowPost(server.port, 'never-finished');
    server.child.kill('SIGTERM');
    await server.waitForLog('draining');
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(1);
    expect(server.logs.map((r) => r['msg'])).toContain('second signal during shutdown; forcing exit');
  });

  it('exits non-zero when SHUTDOWN_TIMEOUT_MS passes with a request still in flight', async () => {
    const server = await start({ SHUTDOWN_TIMEOUT_MS: '300' });
    await slowPost(server.port, 'never-finished');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(1);
    expect(server.logs.map((r) => r['msg'])).toContain('shutdown timed out; forcing exit');
  });

  it('refuses PORT=70000 with a message naming PORT and what is allowed', async () => {
    const server = run({ PORT: '70000', LOG_LEVEL: 'noisy' });
    expect(await server.exited).toBe(2);
    expect(server.stderr()).toContain('PORT="70000": expected an integer from 1 to 65535');
    expect(server.stderr()).toContain('LOG_LEVEL="noisy": expected one of fatal, error, warn, info, debug, trace, silent');
    expect(server.logs).toEqual([]);
  });
});
