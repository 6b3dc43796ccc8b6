export {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_HOST,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  LOG_LEVELS,
  UNKNOWN,
  parseServiceConfig,
  readBuildInfo,
  type BuildInfo,
  type Env,
  type LogLevel,
  type ServiceConfig,
} from './lib/config.js';
export { DEFAULT_HTTP_LIMITS, REQUEST_ID_HEADER, UNMATCHED_ROUTE, createServiceApp, type HttpLimits, type Lifecycle, type ServiceAppOptions } from './lib/create-service-app.js';
export { DEFAULT_DRAIN_IDLE_MS } from './lib/connection-drain.js';
export { ServiceConfigError, ServiceDefinitionError, ServiceStartError, type EnvIssue } from './lib/errors.js';
export { LOG_BUFFER_BYTES, REDACTED, SECRET_HEADERS, createServiceLogger, type ServiceLoggerOptions } from './lib/logger.js';
export { DEFAULT_LATENCY_BUCKETS, HttpMetrics, METRICS_CONTENT_TYPE, nodeProcessProbe, renderProcessMetrics, type ProcessProbe } from './lib/metrics.js';
export {
  EXIT_FORCED,
  EXIT_OK,
  LOG_FLUSH_INTERVAL_MS,
  SHUTDOWN_SIGNALS,
  describeStartupFailure,
  runService,
  startService,
  type RunServiceOptions,
  type RunningService,
  type ShutdownSignal,
  type SignalSource,
} from './lib/run-service.js';
export { defineService, type ServiceDefinition } from './lib/service.js';
// Services write their routes against these types without depending on fastify themselves.
export type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
