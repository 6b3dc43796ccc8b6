import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceBundle, type HttpResult, type ServiceBundleOptions, type ServiceProcess } from './service-process.js';

// Test-only, like service-process.ts: reached through `@engex/service-kit/testing`, never from
// src/index.ts. It registers vitest tests, so only a spec may call it.

export interface ServiceBundleContractOptions extends ServiceBundleOptions {
  /** The service's name, as its log lines carry it (`service`). */
  service: string;
  /** A GET of the service's own API and what it answers; its access line is checked too. */
  get: { path: string; route: string; expect: HttpResult };
  /**
   * A route of the service that takes a JSON body: the drain tests hold one request open on it
   * across SIGTERM. `json(label)` is the body, `expect(label)` the answer.
   */
  slow: { path: string; json: (label: string) => unknown; expect: (label: string) => HttpResult };
}

const messages = (server: ServiceProcess) => server.logs.map((r) => r['msg']);

/**
 * What every engex service's bundle (`dist/main.cjs`, the file the image ships) promises, run
 * against that bundle: /healthz and /version, graceful drain on SIGTERM, Connection: close while
 * draining, the forced exits, redacted logs and the startup env check. One suite in service-kit,
 * called from each service's `main.spec.ts`, instead of a copy of these tests in every service.
 */
export function serviceBundleContract(options: ServiceBundleContractOptions): void {
  const bundle = serviceBundle(options);
  const { get, slow } = options;

  describe(`the bundled server of ${options.service} (service-kit contract)`, () => {
    afterEach(() => bundle.killAll());

    it('answers /healthz, /version from the build env, and its own API', async () => {
      const server = await bundle.start({
        APP_REVISION: 'deadbeef',
        APP_CREATED: '2024-01-01T00:00:00Z',
        APP_SOURCE: 'https://github.com/highspot/example',
        APP_BUILD_URL: 'https://buildkite.com/highspot/example/builds/1',
        APP_VERSION: '1.0.0',
      });
      expect(await server.get('/healthz')).toEqual({ status: 200, body: '{"status":"ok"}' });
      expect(JSON.parse((await server.get('/version')).body)).toEqual({
        revision: 'deadbeef',
        created: '2024-01-01T00:00:00Z',
        buildUrl: 'https://buildkite.com/highspot/example/builds/1',
        source: 'https://github.com/highspot/example',
        version: '1.0.0',
      });
      expect(await server.get(get.path)).toEqual(get.expect);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      // Logged after the response is sent, so only certain to be there once the process is gone.
      expect(server.logs.find((r) => r['msg'] === 'request completed' && r['route'] === get.route)).toMatchObject({
        level: 'info',
        service: options.service,
        statusCode: get.expect.status,
        reqId: expect.any(String),
      });
    });

    it('finishes an in-flight request after SIGTERM, then exits 0', async () => {
      const server = await bundle.start();
      const request = await server.slowRequest({ path: slow.path, json: slow.json('slow') });
      server.child.kill('SIGTERM');
      await server.waitForLog('draining');
      request.finish();
      expect(await request.response).toEqual(slow.expect('slow'));
      expect(await server.exited).toBe(0);
      expect(messages(server)).toContain('stopped');
    });

    it('answers /readyz with 503 while draining (SHUTDOWN_DELAY_MS) and still exits 0', async () => {
      const server = await bundle.start({ SHUTDOWN_DELAY_MS: '3000' });
      expect(await server.get('/readyz')).toEqual({ status: 200, body: '{"status":"ready"}' });
      const request = await server.slowRequest({ path: slow.path, json: slow.json('during-drain') });
      server.child.kill('SIGTERM');
      await server.waitForLog('draining');
      expect(await server.get('/readyz')).toEqual({ status: 503, body: '{"status":"draining"}' });
      request.finish();
      expect(await request.response).toEqual(slow.expect('during-drain'));
      expect(await server.exited).toBe(0);
    });

    it('closes idle keep-alive connections on SIGTERM instead of waiting out their 65 s', async () => {
      const server = await bundle.start({ SHUTDOWN_TIMEOUT_MS: '30000' });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      expect((await server.get('/healthz', agent)).status).toBe(200);
      const [socket] = Object.values(agent.freeSockets).flat();
      const closed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));
      server.child.kill('SIGTERM');
      await closed;
      expect(await server.exited).toBe(0);
      agent.destroy();
    });

    it('answers with Connection: close once SIGTERM arrives, so keep-alive clients move elsewhere', async () => {
      const server = await bundle.start({ SHUTDOWN_DELAY_MS: '3000' });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const connectionHeader = () =>
        new Promise<string | undefined>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: server.port, path: '/healthz', agent }, (res) => {
              res.resume().on('end', () => resolve(res.headers['connection']));
            })
            .on('error', reject);
        });
      expect(await connectionHeader()).toBe('keep-alive');
      server.child.kill('SIGTERM');
      await server.waitForLog('draining');
      expect(await connectionHeader()).toBe('close');
      agent.destroy();
      expect(await server.exited).toBe(0);
    });

    it('answers an undecodable path with the JSON 400 and a request id, and logs it', async () => {
      const server = await bundle.start();
      const res = await server.get('/healthz/%zz');
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ statusCode: 400, error: 'Bad Request', requestId: expect.any(String) });
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(server.logs.find((r) => r['msg'] === 'request completed')).toMatchObject({ path: '/healthz/%zz', statusCode: 400 });
    });

    it('never logs the credentials of a request with oversized headers, even at LOG_LEVEL=trace', async () => {
      const server = await bundle.start({ LOG_LEVEL: 'trace' });
      const token = 'pl4nted-b34rer-t0ken';
      const socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', () => undefined).resume();
      socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nCookie: sid=${token}\r\n` + `X-Filler: ${'f'.repeat(20_000)}\r\n\r\n`);
      await new Promise((resolve) => socket.once('close', resolve));
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(server.logs.some((r) => r['msg'] === 'client error')).toBe(true);
      expect(JSON.stringify(server.logs)).not.toContain(token);
    });

    it('exits non-zero at once on a second signal', async () => {
      const server = await bundle.start({ SHUTDOWN_TIMEOUT_MS: '60000' });
      await server.slowRequest({ path: slow.path, json: slow.json('never-finished') });
      server.child.kill('SIGTERM');
      await server.waitForLog('draining');
      server.child.kill('SIGINT');
      expect(await server.exited).toBe(1);
      expect(messages(server)).toContain('second signal during shutdown; forcing exit');
    });

    it('exits non-zero when SHUTDOWN_TIMEOUT_MS passes with a request still in flight', async () => {
      const server = await bundle.start({ SHUTDOWN_TIMEOUT_MS: '300' });
      await server.slowRequest({ path: slow.path, json: slow.json('never-finished') });
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(1);
      expect(messages(server)).toContain('shutdown timed out; forcing exit');
    });

    it('refuses PORT=70000 with a message naming PORT and what is allowed', async () => {
      const server = bundle.run({ PORT: '70000', LOG_LEVEL: 'noisy' });
      expect(await server.exited).toBe(2);
      expect(server.stderr()).toContain('PORT="70000": expected an integer from 1 to 65535');
      expect(server.stderr()).toContain('LOG_LEVEL="noisy": expected one of fatal, error, warn, info, debug, trace, silent');
      expect(server.logs).toEqual([]);
    });
  });
}
