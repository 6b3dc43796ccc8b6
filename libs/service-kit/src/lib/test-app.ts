import type { FastifyInstance } from 'fastify';
import { pino, type DestinationStream } from 'pino';
import { parseServiceConfig, type Env } from './config.js';
import { createServiceApp, type Lifecycle } from './create-service-app.js';
import { createServiceLogger } from './logger.js';
import type { ProcessProbe } from './metrics.js';
import type { ServiceDefinition } from './service.js';

/** A probe with fixed figures, so /metrics output is the same on every run. */
export function fixedProcessProbe(): ProcessProbe {
  return {
    cpuUsage: () => ({ user: 1_500_000, system: 500_000 }),
    memoryUsage: () => ({ rss: 50_000_000, heapTotal: 20_000_000, heapUsed: 10_000_000, external: 1_000_000 }),
    startTimeSeconds: 1_700_000_000,
    nodeVersion: '20.0.0',
    eventLoopDelay: () => ({ p50: 0.01, p99: 0.02, max: 0.03 }),
    stop: () => undefined,
  };
}

export interface TestAppOptions {
  /** Environment the config is parsed from. Default: empty (every default, build info 'unknown'). */
  env?: Env;
  /** Captures the JSON log lines; without it logging is off. */
  logDestination?: DestinationStream;
  lifecycle?: Lifecycle;
}

/** The service's app exactly as production builds it, for `app.inject` tests. Close it after use. */
export function createTestApp(service: ServiceDefinition, options: TestAppOptions = {}): FastifyInstance {
  const config = parseServiceConfig(options.env ?? {}, { port: service.defaultPort });
  const logger = options.logDestination ? createServiceLogger({ service: service.name, level: config.logLevel, destination: options.logDestination }) : pino({ level: 'silent' });
  return createServiceApp(service, {
    config,
    logger,
    probe: fixedProcessProbe(),
    lifecycle: options.lifecycle,
    validateSchemas: true,
  });
}
