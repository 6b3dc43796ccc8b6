import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { REDACTED } from './logger.js';
import { defineService } from './service.js';
import { createTestApp } from './test-app.js';

const SECRET = 'Bearer s3cr3t-t0ken';
const COOKIE = 'session=c00kie-value';

const routes: FastifyPluginAsync = async (app) => {
  app.post<{ Body: { name: string; tags?: string[] } }>(
    '/items',
    {
      schema: {
        body: {
          type: 'object',
          properties: { name: { type: 'string', minLength: 1 }, tags: { type: 'array', items: { type: 'string', maxLength: 3 } } },
          required: ['name'],
        },
      },
    },
    async (request, reply) => reply.code(201).send({ name: request.body.name }),
  );
  app.get('/boom', async () => {
    throw new Error('connection to db.internal:5432 failed for user admin');
  });
  app.get('/teapot', async () => {
    throw Object.assign(new Error('short and stout'), { statusCode: 418 });
  });
  app.get('/log-headers', async (request) => {
    // What a careless handler might do; redaction must still hide credentials.
    request.log.info({ headers: request.headers, request: { headers: request.headers } }, 'debugging headers');
    request.log.info({ response: { headers: { 'Set-Cookie': COOKIE, Authorization: SECRET } } }, 'upstream answered');
    return { ok: true };
  });
  app.get('/stuck', { handlerTimeout: 50 }, () => new Promise(() => undefined));
  app.get<{ Querystring: { limit: number } }>(
    '/page',
    { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer' } }, required: ['limit'] } } },
    async (request) => ({ limit: request.query.limit }),
  );
};

const service = defineService({ name: 'demo', defaultPort: 8080, routes });

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function captureLogs() {
  const lines: string[] = [];
  return {
    lines,
    destination: { write: (line: string) => void lines.push(line) },
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('shared routes', () => {
  it('GET /healthz is always ok', async () => {
    app = createTestApp(service, { lifecycle: { draining: true } });
    const res = await app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 while serving and 503 once draining', async () => {
    const lifecycle = { draining: false };
    app = createTestApp(service, { lifecycle });
    const ready = await app.inject({ url: '/readyz' });
    expect([ready.statusCode, ready.json()]).toEqual([200, { status: 'ready' }]);
    lifecycle.draining = true;
    const draining = await app.inject({ url: '/readyz' });
    expect([draining.statusCode, draining.json()]).toEqual([503, { status: 'draining' }]);
  });

  it("GET /version says 'unknown' when the build env is unset", async () => {
    app = createTestApp(service);
    expect((await app.inject({ url: '/version' })).json()).toEqual({
      revision: 'unknown',
      created: 'unknown',
      buildUrl: 'unknown',
      source: 'unknown',
      version: 'unknown',
    });
  });

  it('GET /version returns what the image build set', async () => {
    app = createTestApp(service, {
      env: {
        APP_REVISION: '0123456789abcdef0123456789abcdef01234567',
        APP_CREATED: '2024-05-06T07:08:09Z',
        APP_SOURCE: 'https://github.com/example/repo',
        APP_BUILD_URL: 'https://buildkite.com/example/builds/42',
        APP_VERSION: '1.4.0',
      },
    });
    expect((await app.inject({ url: '/version' })).json()).toEqual({
      revision: '0123456789abcdef0123456789abcdef01234567',
      created: '2024-05-06T07:08:09Z',
      buildUrl: 'https://buildkite.com/example/builds/42',
      source: 'https://github.com/example/repo',
      version: '1.4.0',
    });
  });

  it('GET /metrics exposes request counts and latency by route and status, plus process metrics', async () => {
    app = createTestApp(service);
    await app.inject({ url: '/healthz' });
    await app.inject({ url: '/healthz' });
    await app.inject({ method: 'POST', url: '/items', payload: {} });
    await app.inject({ url: '/no/such/thing' });
    await app.inject({ url: '/boom' });
    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = res.body;
    expect(text).toContain('http_requests_total{method="GET",route="/healthz",status_code="200"} 2');
    expect(text).toContain('http_requests_total{method="POST",route="/items",status_code="400"} 1');
    expect(text).toContain('http_requests_total{method="GET",route="(unmatched)",status_code="404"} 1');
    expect(text).toContain('http_requests_total{method="GET",route="/boom",status_code="500"} 1');
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toContain('http_request_duration_seconds_count{method="GET",route="/healthz",status_code="200"} 2');
    expect(text).toMatch(/http_request_duration_seconds_bucket\{method="GET",route="\/healthz",status_code="200",le="\+Inf"\} 2/);
    expect(text).toContain('process_resident_memory_bytes 50000000');
    expect(text).toContain('process_cpu_seconds_total 2');
  });
});

describe('errors', () => {
  it('answers an unknown route with a JSON 404', async () => {
    app = createTestApp(service);
    const res = await app.inject({ url: '/nope?token=abc' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'No route for GET /nope',
      requestId: res.headers['x-request-id'],
    });
  });

  /** POST /items with `payload` to the test's app (made on first use), refused with a 400. */
  const refusedItem = async (payload: unknown) => {
    app ??= createTestApp(service);
    const res = await app.inject({ method: 'POST', url: '/items', payload: payload as Record<string, unknown> });
    expect(res.statusCode).toBe(400);
    return res;
  };

  it('answers a missing body field with a 400 naming it', async () => {
    const res = await refusedItem({ tags: [] });
    expect(res.json()).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      message: "body.name: must have required property 'name'",
      issues: [{ field: 'body.name', message: "must have required property 'name'" }],
    });
  });

  it('names a nested bad field by its path', async () => {
    const res = await refusedItem({ name: 'x', tags: ['ok', 'too long'] });
    expect(res.json().issues).toEqual([{ field: 'body.tags.1', message: 'must NOT have more than 3 characters' }]);
  });

  it('refuses a body field of the wrong JSON type instead of coercing it', async () => {
    const res = await refusedItem({ name: 123 });
    expect(res.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'body.name: must be string',
      issues: [{ field: 'body.name', message: 'must be string' }],
      requestId: res.headers['x-request-id'],
    });
    const array = await refusedItem({ name: 'x', tags: 'abc' });
    expect(array.json().issues).toEqual([{ field: 'body.tags', message: 'must be array' }]);
  });

  it('still reads typed query strings, which arrive as text', async () => {
    app = createTestApp(service);
    expect((await app.inject({ url: '/page?limit=5' })).json()).toEqual({ limit: 5 });
    expect((await app.inject({ url: '/page?limit=five' })).json().issues).toEqual([{ field: 'querystring.limit', message: 'must be integer' }]);
  });

  it('answers an undecodable path with the JSON 400, a request id, an access line and a metric', async () => {
    const logs = captureLogs();
    app = createTestApp(service, { logDestination: logs.destination });
    const res = await app.inject({ url: '/items/%zz?token=abc', headers: { 'x-request-id': 'bad-url-1' } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-request-id']).toBe('bad-url-1');
    expect(res.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringContaining('is not a valid url component'),
      requestId: 'bad-url-1',
    });
    expect(logs.records().filter((r) => r['msg'] === 'request completed')).toEqual([
      expect.objectContaining({ reqId: 'bad-url-1', path: '/items/%zz', route: '(unmatched)', statusCode: 400 }),
    ]);
    expect(logs.lines.join('')).not.toContain('token=abc');
    const metrics = (await app.inject({ url: '/metrics' })).body;
    expect(metrics).toContain('http_requests_total{method="GET",route="(unmatched)",status_code="400"} 1');
  });

  it('answers malformed JSON with a 400 JSON body', async () => {
    app = createTestApp(service);
    const res = await app.inject({
      method: 'POST',
      url: '/items',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('refuses a body over the limit with a 413', async () => {
    app = createTestApp(service);
    const res = await app.inject({ method: 'POST', url: '/items', payload: { name: 'x'.repeat(1024 * 1024 + 1) } });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
  });

  it('passes deliberate 4xx errors through', async () => {
    app = createTestApp(service);
    const res = await app.inject({ url: '/teapot' });
    expect(res.statusCode).toBe(418);
    expect(res.json()).toMatchObject({ error: "I'm a Teapot", message: 'short and stout' });
  });

  it('never leaks a 5xx error message to the client, but logs it with the request id', async () => {
    const logs = captureLogs();
    app = createTestApp(service, { logDestination: logs.destination });
    const res = await app.inject({ url: '/boom', headers: { 'x-request-id': 'trace-me-1' } });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('db.internal');
    expect(res.body).not.toContain('admin');
    expect(res.json()).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'The server failed to handle this request; quote the requestId when reporting it.',
      requestId: 'trace-me-1',
    });
    const failure = logs.records().find((r) => r['msg'] === 'request failed');
    expect(failure).toMatchObject({ level: 'error', reqId: 'trace-me-1', service: 'demo' });
    expect(JSON.stringify(failure)).toContain('db.internal:5432');
  });

  it('answers a handler that overruns its timeout with a generic 503', async () => {
    app = createTestApp(service);
    const res = await app.inject({ url: '/stuck' });
    expect(res.statusCode).toBe(503);
    expect(res.json().message).toBe('The server failed to handle this request; quote the requestId when reporting it.');
  });
});

describe('request ids and logs', () => {
  it('honours a well-formed x-request-id and echoes it back', async () => {
    app = createTestApp(service);
    const res = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123.def' } });
    expect(res.headers['x-request-id']).toBe('abc-123.def');
  });

  it('replaces a malformed x-request-id with a fresh uuid', async () => {
    app = createTestApp(service);
    const res = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'evil\nid {"level":"fatal"}' } });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('writes one JSON access line per request, with the path but not the query string', async () => {
    const logs = captureLogs();
    app = createTestApp(service, { logDestination: logs.destination });
    await app.inject({ method: 'POST', url: '/items?api_key=hidden', payload: { name: 'a' }, headers: { 'x-request-id': 'r1' } });
    const access = logs.records().filter((r) => r['msg'] === 'request completed');
    expect(access).toEqual([
      expect.objectContaining({
        level: 'info',
        service: 'demo',
        reqId: 'r1',
        method: 'POST',
        path: '/items',
        route: '/items',
        statusCode: 201,
        responseTimeMs: expect.any(Number),
      }),
    ]);
    expect(logs.lines.join('')).not.toContain('hidden');
  });

  it('leaves probe and scrape routes out of the access log', async () => {
    const logs = captureLogs();
    app = createTestApp(service, { logDestination: logs.destination });
    await app.inject({ url: '/healthz' });
    await app.inject({ url: '/readyz' });
    await app.inject({ url: '/metrics' });
    expect(logs.records().filter((r) => r['msg'] === 'request completed')).toEqual([]);
  });

  it('never writes authorization, cookie or api-key values to the logs', async () => {
    const logs = captureLogs();
    app = createTestApp(service, { env: { LOG_LEVEL: 'trace' }, logDestination: logs.destination });
    const headers = { authorization: SECRET, cookie: COOKIE, 'x-api-key': 'k3y-value', 'proxy-authorization': SECRET };
    await app.inject({ url: '/log-headers', headers });
    await app.inject({ url: '/boom', headers });
    await app.inject({ url: '/nope', headers });
    const all = logs.lines.join('');
    expect(logs.lines.length).toBeGreaterThan(3);
    for (const secret of ['s3cr3t-t0ken', 'c00kie-value', 'k3y-value']) expect(all).not.toContain(secret);
    const debug = logs.records().find((r) => r['msg'] === 'debugging headers') as {
      headers: Record<string, string>;
      request: { headers: Record<string, string> };
    };
    expect(debug.headers.authorization).toBe(REDACTED);
    expect(debug.headers.cookie).toBe(REDACTED);
    expect(debug.request.headers['x-api-key']).toBe(REDACTED);
    expect(debug.request.headers['proxy-authorization']).toBe(REDACTED);
    expect(logs.records().find((r) => r['msg'] === 'upstream answered')).toMatchObject({
      response: { headers: { 'Set-Cookie': REDACTED, Authorization: REDACTED } },
    });
  });
});

describe('server limits', () => {
  it('keeps idle connections longer than an ALB and bounds header, request and body time', async () => {
    app = createTestApp(service);
    await app.ready();
    expect(app.server.keepAliveTimeout).toBe(65_000);
    expect(app.server.headersTimeout).toBe(10_000);
    expect(app.server.requestTimeout).toBe(30_000);
    expect(app.initialConfig.bodyLimit).toBe(1024 * 1024);
  });

  it('takes the header and request timeouts from the environment', async () => {
    app = createTestApp(service, { env: { HEADERS_TIMEOUT_MS: '2000', REQUEST_TIMEOUT_MS: '4000' } });
    await app.ready();
    expect([app.server.headersTimeout, app.server.requestTimeout]).toEqual([2000, 4000]);
  });
});

describe('schema checks', () => {
  it('tests reject a malformed route schema that production would skip checking', async () => {
    const broken = defineService({
      name: 'broken',
      defaultPort: 8080,
      routes: async (instance) => {
        instance.get('/x', { schema: { querystring: { type: 'object', properties: { q: { type: 'string', minLength: 'one' } } } } }, async () => ({}));
      },
    });
    app = createTestApp(broken);
    await expect(app.ready()).rejects.toThrow(/minLength/);
  });
});
