import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { parseServiceConfig, type Env, type ServiceConfig } from './config.js';
import { createServiceApp, type HttpLimits } from './create-service-app.js';
import { trackConnections } from './connection-drain.js';
import { ServiceConfigError, ServiceStartError } from './errors.js';
import { createServiceLogger } from './logger.js';
import type { ProcessProbe } from './metrics.js';
import type { ServiceDefinition } from './service.js';

export type ShutdownSignal = 'SIGTERM' | 'SIGINT';
export const SHUTDOWN_SIGNALS: readonly ShutdownSignal[] = ['SIGTERM', 'SIGINT'];

/** Where shutdown signals arrive: `process` in the executable, an EventEmitter in tests. */
export interface SignalSource {
  on(event: ShutdownSignal, listener: (signal: ShutdownSignal) => void): unknown;
  off(event: ShutdownSignal, listener: (signal: ShutdownSignal) => void): unknown;
}

export interface RunServiceOptions {
  /** The environment to read the config from: `process.env` in the executable. */
  env: Env;
  signals: SignalSource;
  /** Process figures for /metrics: `nodeProcessProbe(process, Date.now())`. Stopped on exit. */
  probe: ProcessProbe;
  /** Where JSON log lines go. Default: stdout. */
  logDestination?: DestinationStream;
  /** Overrides for the server limits (see DEFAULT_HTTP_LIMITS). */
  limits?: Partial<HttpLimits>;
}

/** Quiet services still show their log lines within this long, despite the write buffer. */
export const LOG_FLUSH_INTERVAL_MS = 1000;

/** Exit codes the promise from `stopped` / `runService` resolves with. */
export const EXIT_OK = 0;
export const EXIT_FORCED = 1;

export interface RunningService {
  app: FastifyInstance;
  config: ServiceConfig;
  /** The bound port (the config's PORT). */
  port: number;
  /**
   * Resolves once the service stopped, with the exit code to use: 0 after a graceful drain,
   * 1 when a second signal or SHUTDOWN_TIMEOUT_MS forced it (in-flight requests are abandoned).
   */
  stopped: Promise<number>;
  /** Starts the graceful shutdown as if `signal` had arrived; a second call forces it. */
  shutdown(signal: ShutdownSignal): void;
}

/**
 * Validates the config, builds the app, listens, and wires graceful shutdown:
 * first signal → /readyz turns 503 and every response says `Connection: close`, keep serving
 * SHUTDOWN_DELAY_MS, then stop accepting and let in-flight requests finish; a connection idle for
 * DEFAULT_DRAIN_IDLE_MS is closed, never one with a request on it (see trackConnections);
 * second signal or SHUTDOWN_TIMEOUT_MS → give up.
 *
 * @throws ServiceConfigError for a bad environment, ServiceStartError when it cannot listen.
 */
export async function startService(service: ServiceDefinition, options: RunServiceOptions): Promise<RunningService> {
  const config = parseServiceConfig(options.env, { port: service.defaultPort });
  const logger = createServiceLogger({
    service: service.name,
    level: config.logLevel,
    destination: options.logDestination,
  });
  const lifecycle = { draining: false };
  const app = createServiceApp(service, {
    config,
    logger,
    probe: options.probe,
    lifecycle,
    limits: options.limits,
  });
  const connections = trackConnections(app.server);

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    logger.flush();
    await app.close().catch(() => undefined);
    options.probe.stop();
    throw new ServiceStartError(config.host, config.port, error);
  }

  // Lifecycle lines go out at once; access lines wait for a full buffer or the next tick.
  logger.flush();
  const flushTimer = setInterval(() => logger.flush(), LOG_FLUSH_INTERVAL_MS);
  flushTimer.unref();

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  const timers: NodeJS.Timeout[] = [];
  let finished = false;
  const finish = (code: number) => {
    if (finished) return;
    finished = true;
    timers.forEach(clearTimeout);
    clearInterval(flushTimer);
    logger.flush();
    for (const s of SHUTDOWN_SIGNALS) options.signals.off(s, shutdown);
    options.probe.stop();
    resolveStopped(code);
  };

  const shutdown = (signal: ShutdownSignal) => {
    if (finished) return;
    if (lifecycle.draining) {
      logger.warn({ signal }, 'second signal during shutdown; forcing exit');
      finish(EXIT_FORCED);
      return;
    }
    lifecycle.draining = true;
    connections.start();
    logger.info({ signal, shutdownDelayMs: config.shutdownDelayMs, shutdownTimeoutMs: config.shutdownTimeoutMs }, 'draining');
    logger.flush();
    timers.push(
      setTimeout(() => {
        logger.error({ shutdownTimeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; forcing exit');
        finish(EXIT_FORCED);
      }, config.shutdownTimeoutMs),
    );
    // With no delay the listener closes in this very tick: a response saying `Connection: close`
    // sent before it would send its client back to a listener about to close, and the kernel
    // resets connections queued there (bench/halow-http measured 14 of 1814 requests).
    const listenerClosed =
      config.shutdownDelayMs === 0 ? connections.close() : new Promise<void>((resolve) => timers.push(setTimeout(resolve, config.shutdownDelayMs))).then(() => connections.close());
    listenerClosed
      .then(() => app.close())
      .then(
        () => {
          logger.info('stopped');
          finish(EXIT_OK);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'close failed; forcing exit');
          finish(EXIT_FORCED);
        },
      );
  };
  for (const s of SHUTDOWN_SIGNALS) options.signals.on(s, shutdown);

  const port = (app.server.address() as AddressInfo).port;
  return { app, config, port, stopped, shutdown };
}

/** `startService`, then wait: resolves with the exit code once the service stopped. */
export async function runService(service: ServiceDefinition, options: RunServiceOptions): Promise<number> {
  const running = await startService(service, options);
  return running.stopped;
}

/** What the executable prints and exits with when `runService` rejects. */
export function describeStartupFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof ServiceConfigError) return { message: error.message, exitCode: 2 };
  if (error instanceof ServiceStartError) return { message: error.message, exitCode: 1 };
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { message: `Service failed to start: ${detail}`, exitCode: 1 };
}
