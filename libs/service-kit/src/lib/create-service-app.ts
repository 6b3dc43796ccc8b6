import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { AjvCompiler } from '@fastify/ajv-compiler';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ServiceConfig } from './config.js';
import { HttpMetrics, METRICS_CONTENT_TYPE, renderProcessMetrics, type ProcessProbe } from './metrics.js';
import type { ServiceDefinition } from './service.js';

/** Server limits; every field has a production default (see DEFAULT_HTTP_LIMITS). */
export interface HttpLimits {
  /** Largest accepted request body. Default 1 MiB. */
  bodyLimitBytes: number;
  /**
   * Idle keep-alive connections are closed after this. Default 65 s: longer than an AWS ALB's
   * 60 s idle timeout, so the balancer closes first and never reuses a socket we are closing (502s).
   */
  keepAliveTimeoutMs: number;
  /**
   * Time allowed to receive request headers, from their first byte; then a 408 and the socket is
   * closed. Default: the config's HEADERS_TIMEOUT_MS (10 s). Since Node 18 an idle keep-alive
   * connection is not on this clock, so it may be shorter than keepAliveTimeoutMs (the old AWS
   * advice to keep it above was for Node versions that started it at the previous response).
   */
  headersTimeoutMs: number;
  /**
   * Time allowed to receive a whole request (not to answer it). Default: the config's
   * REQUEST_TIMEOUT_MS (30 s); Node requires it >= headersTimeoutMs.
   */
  requestTimeoutMs: number;
  /**
   * Time a route may take to answer once routed; then the client gets a 503 and `request.signal`
   * aborts. Default 30 s. Routes may set their own `handlerTimeout`.
   */
  handlerTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  bodyLimitBytes: 1024 * 1024,
  keepAliveTimeoutMs: 65_000,
  headersTimeoutMs: DEFAULT_HEADERS_TIMEOUT_MS,
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
  handlerTimeoutMs: 30_000,
};

/** Shared shutdown state: /readyz answers 503 once `draining` is set. */
export interface Lifecycle {
  draining: boolean;
}

export interface ServiceAppOptions {
  config: ServiceConfig;
  logger: Logger;
  probe: ProcessProbe;
  /** Default: a fresh, not-draining lifecycle. */
  lifecycle?: Lifecycle;
  /** Overrides for DEFAULT_HTTP_LIMITS and for the config's header and request timeouts. */
  limits?: Partial<HttpLimits>;
  /**
   * Check every route schema against the JSON Schema meta-schema when the app starts. Default
   * false: compiling the meta-schema was a quarter of the service's cold start, and a schema that
   * compiles once compiles the same way every time, so the tests (createTestApp turns this on)
   * are where a malformed schema is caught. Unknown keywords fail either way (Ajv strict mode).
   */
  validateSchemas?: boolean;
}

/** The route label of requests no route matched; one series, whatever URLs are probed. */
export const UNMATCHED_ROUTE = '(unmatched)';

/** Accepted incoming x-request-id values; anything else is replaced so logs cannot be forged. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const REQUEST_ID_HEADER = 'x-request-id';

/** Probes and scrapers call these every few seconds: their info access lines would drown real traffic. */
const QUIET_ROUTE = { logLevel: 'warn' } as const;

const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string' } },
  required: ['status'],
} as const;

const versionSchema = {
  type: 'object',
  properties: {
    revision: { type: 'string' },
    created: { type: 'string' },
    buildUrl: { type: 'string' },
    source: { type: 'string' },
    version: { type: 'string' },
  },
  required: ['revision', 'created', 'buildUrl', 'source', 'version'],
} as const;

/**
 * Builds the Fastify app for a service: the shared routes (/healthz, /readyz, /version, /metrics),
 * request ids, access logs, metrics, JSON 404 and error bodies, limits, then the service's own
 * routes. It does not listen: `startService` does, and tests use `app.inject`.
 */
export function createServiceApp(service: ServiceDefinition, options: ServiceAppOptions): FastifyInstance {
  const { config, probe } = options;
  const limits = normalizeLimits({
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    ...options.limits,
  });
  const lifecycle = options.lifecycle ?? { draining: false };
  const metrics = new HttpMetrics();

  const app = Fastify({
    loggerInstance: options.logger,
    // One access-log line per request, from onResponse, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => {
      const incoming = req.headers[REQUEST_ID_HEADER];
      return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    },
    bodyLimit: limits.bodyLimitBytes,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node looks for expired header and request clocks every 30 s by default, which would let a
    // dripping client hold its socket up to 30 s past the timeout.
    http: { connectionsCheckingInterval: checkingIntervalMs(limits.headersTimeoutMs) },
    handlerTimeout: limits.handlerTimeoutMs,
    // On close: idle keep-alive sockets go at once, busy ones after their response.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: { validateSchema: options.validateSchemas ?? false } },
    schemaController: { compilersFactory: { buildValidator: strictBodyValidator } },
    clientErrorHandler: (error: ClientError, socket: Socket) => answerClientError(error, socket, options.logger),
    // A URL Fastify cannot decode (`/%zz`) skips routing and every hook: answer and record it here.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      reply.raw.once('close', () => record(request, reply));
      return answerError(error, request, reply);
    },
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = limits.headersTimeoutMs;

  // Callback-style hooks: they run on every request, and async hooks cost a promise each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });

  const record = (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    request.log.info(
      {
        method: request.method,
        // The path only: query strings are where tokens and personal data leak into logs.
        path: pathOf(request.url),
        route,
        statusCode: reply.statusCode,
        responseTimeMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request completed',
    );
  };
  app.addHook('onResponse', (request, reply, done) => {
    record(request, reply);
    done();
  });

  app.setErrorHandler(answerError);

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      statusCode: 404,
      error: 'Not Found',
      message: `No route for ${request.method} ${pathOf(request.url)}`,
      requestId: request.id,
    }),
  );

  app.get('/healthz', { ...QUIET_ROUTE, schema: { response: { 200: statusSchema } } }, async () => ({
    status: 'ok',
  }));

  app.get('/readyz', { ...QUIET_ROUTE, schema: { response: { 200: statusSchema, 503: statusSchema } } }, async (_request, reply) =>
    lifecycle.draining ? reply.code(503).send({ status: 'draining' }) : { status: 'ready' },
  );

  const version = { ...config.build };
  app.get('/version', { schema: { response: { 200: versionSchema } } }, async () => version);

  app.get('/metrics', QUIET_ROUTE, async (_request, reply) => reply.type(METRICS_CONTENT_TYPE).send(metrics.render() + renderProcessMetrics(probe)));

  app.register(service.routes);
  return app;
}

/** The JSON error body: a 400 naming each invalid field, 4xx as thrown, 5xx without details. */
function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const requestId = request.id;
  if (error.validation) {
    const issues = error.validation.map((v) => ({
      field: fieldOf(error.validationContext, v.instancePath, v.params),
      message: v.message ?? 'is invalid',
    }));
    return reply.code(400).send({
      statusCode: 400,
      error: 'Bad Request',
      message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
      issues,
      requestId,
    });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Client errors are deliberate (ours or Fastify's: body too large, bad JSON, bad URL, ...).
    return reply.code(status).send({ statusCode: status, error: STATUS_CODES[status], message: error.message, requestId });
  }
  const code = status >= 500 && status <= 599 ? status : 500;
  request.log.error({ err: error }, 'request failed');
  return reply.code(code).send({
    statusCode: code,
    error: STATUS_CODES[code],
    message: 'The server failed to handle this request; quote the requestId when reporting it.',
    requestId,
  });
}

/** What Node's HTTP parser reports on 'clientError'; `rawPacket` holds the request bytes read so far. */
type ClientError = Error & { code?: string; rawPacket?: unknown };

/**
 * Requests Node could not parse (headers too large, malformed, too slow) never reach Fastify.
 * Fastify's default handler logs the error whole, and Node attaches the raw request bytes to it
 * (`rawPacket`: Authorization and Cookie headers included, up to the header limit): only the
 * code and message are logged here.
 */
function answerClientError(error: ClientError, socket: Socket, logger: Logger): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const message = status === 408 ? 'Client Timeout' : status === 431 ? 'Exceeded maximum allowed HTTP header size' : 'Client Error';
  logger.trace({ code: error.code, reason: error.message, statusCode: status }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message });
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

const compilerPool = AjvCompiler();
type AjvCompilerOptions = Extract<NonNullable<Parameters<typeof compilerPool>[1]>, { mode?: never }>;

/**
 * Ajv as Fastify configures it, except that bodies are never coerced: JSON carries its own types,
 * so `{"name": 123}` is a client bug to refuse, not a string to invent. Query strings, params and
 * headers arrive as text, so they keep Fastify's coercion (`?limit=5` can be `type: integer`).
 */
const strictBodyValidator: typeof compilerPool = (externalSchemas, serverOptions = {}) => {
  const forText = compilerPool(externalSchemas, serverOptions);
  // Fastify's options are Ajv's (never JTD, which we do not enable); the cast says so to TypeScript.
  const { customOptions, ...rest } = serverOptions as AjvCompilerOptions;
  const forBody = compilerPool(externalSchemas, { ...rest, customOptions: { ...customOptions, coerceTypes: false } });
  return (route) => (route.httpPart === 'body' ? forBody(route) : forText(route));
};

/** A quarter of the headers timeout, between 50 ms and 1 s: expiry is noticed within that much. */
function checkingIntervalMs(headersTimeoutMs: number): number {
  return Math.min(1000, Math.max(50, Math.floor(headersTimeoutMs / 4)));
}

function normalizeLimits(overrides: Partial<HttpLimits> = {}): HttpLimits {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...overrides };
  if (limits.requestTimeoutMs < limits.headersTimeoutMs) {
    throw new RangeError(`requestTimeoutMs (${limits.requestTimeoutMs}) must be >= headersTimeoutMs (${limits.headersTimeoutMs}); Node refuses otherwise.`);
  }
  return limits;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** `querystring.name`, `body.items.0.id`, ... from an Ajv error. */
function fieldOf(context: string | undefined, instancePath: string, params: Record<string, unknown>): string {
  const parts = [context ?? 'request', ...instancePath.split('/').filter(Boolean)];
  if (typeof params['missingProperty'] === 'string') parts.push(params['missingProperty']);
  if (typeof params['additionalProperty'] === 'string') parts.push(params['additionalProperty']);
  return parts.join('.');
}
