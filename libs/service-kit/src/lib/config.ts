import { ServiceConfigError, type EnvIssue } from './errors.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What the image build stamped into the environment; each field is 'unknown' when unset. */
export interface BuildInfo {
  /** Commit sha (APP_REVISION, from the REVISION build arg). */
  revision: string;
  /** RFC 3339 build time (APP_CREATED). */
  created: string;
  /** Source repository URL (APP_SOURCE). */
  source: string;
  /** CI build URL (APP_BUILD_URL). */
  buildUrl: string;
  /** Release version, e.g. a semver tag (APP_VERSION). */
  version: string;
}

export interface ServiceConfig {
  /** PORT, 1-65535. Default: the service's own default port. */
  port: number;
  /** HOST to bind. Default 0.0.0.0 (all IPv4 interfaces, what a container needs). */
  host: string;
  /** LOG_LEVEL. Default info. */
  logLevel: LogLevel;
  /** SHUTDOWN_TIMEOUT_MS: from the first signal to a forced exit. Default 10000. */
  shutdownTimeoutMs: number;
  /**
   * SHUTDOWN_DELAY_MS: how long to keep serving with /readyz at 503 before closing the listener,
   * so a load balancer or Kubernetes endpoints can stop routing here first. Default 0.
   */
  shutdownDelayMs: number;
  /**
   * HEADERS_TIMEOUT_MS: time a client has to send its request headers, from its first byte (an idle
   * keep-alive connection is not on this clock). Then it gets a 408 and the socket is closed, so a
   * client dripping a header byte at a time cannot hold a socket. Default 10000.
   */
  headersTimeoutMs: number;
  /**
   * REQUEST_TIMEOUT_MS: time a client has to send its whole request, body included; the handler's
   * own time is not counted. At least HEADERS_TIMEOUT_MS. Default 30000.
   */
  requestTimeoutMs: number;
  build: BuildInfo;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const UNKNOWN = 'unknown';
export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** setTimeout fires at once for anything larger, so a bigger "timeout" would be a lie. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const HOST_PATTERN = /^[A-Za-z0-9._:%[\]-]{1,253}$/;

/**
 * Reads and validates a service's runtime configuration from `env`. Unset and empty variables take
 * their defaults (Docker's `-e VAR=` and unset build args both arrive as empty strings).
 *
 * @throws ServiceConfigError listing every invalid variable, not only the first.
 */
export function parseServiceConfig(env: Env, defaults: { port: number }): ServiceConfig {
  const issues: EnvIssue[] = [];
  const read = (variable: string): string | undefined => {
    const value = env[variable];
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (variable: string, min: number, max: number, fallback: number, expected: string) => {
    const value = read(variable);
    if (value === undefined) return fallback;
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= min && n <= max)) {
      issues.push({ variable, value, expected });
      return fallback;
    }
    return n;
  };

  const port = integer('PORT', 1, 65_535, defaults.port, 'an integer from 1 to 65535');

  const hostValue = read('HOST');
  let host = DEFAULT_HOST;
  if (hostValue !== undefined) {
    if (HOST_PATTERN.test(hostValue)) host = hostValue;
    else
      issues.push({
        variable: 'HOST',
        value: hostValue,
        expected: 'an IP address or hostname, e.g. 0.0.0.0, :: or localhost',
      });
  }

  const levelValue = read('LOG_LEVEL');
  let logLevel: LogLevel = 'info';
  if (levelValue !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(levelValue)) logLevel = levelValue as LogLevel;
    else issues.push({ variable: 'LOG_LEVEL', value: levelValue, expected: `one of ${LOG_LEVELS.join(', ')}` });
  }

  const shutdownTimeoutMs = integer('SHUTDOWN_TIMEOUT_MS', 1, MAX_TIMER_MS, DEFAULT_SHUTDOWN_TIMEOUT_MS, `a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`);
  const shutdownDelayMs = integer('SHUTDOWN_DELAY_MS', 0, MAX_TIMER_MS, 0, `a whole number of milliseconds from 0 to ${MAX_TIMER_MS}`);
  const delayValue = read('SHUTDOWN_DELAY_MS');
  if (delayValue !== undefined && shutdownDelayMs > 0 && shutdownDelayMs >= shutdownTimeoutMs) {
    issues.push({
      variable: 'SHUTDOWN_DELAY_MS',
      value: delayValue,
      expected: `less than SHUTDOWN_TIMEOUT_MS (${shutdownTimeoutMs}), or the timeout would always force the exit`,
    });
  }

  const headersTimeoutMs = integer('HEADERS_TIMEOUT_MS', 1, MAX_TIMER_MS, DEFAULT_HEADERS_TIMEOUT_MS, `a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`);
  const requestTimeoutMs = integer('REQUEST_TIMEOUT_MS', 1, MAX_TIMER_MS, DEFAULT_REQUEST_TIMEOUT_MS, `a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`);
  if (requestTimeoutMs < headersTimeoutMs) {
    // Blame the variable that was set; when both were, the request timeout is the one too short.
    const variable = read('REQUEST_TIMEOUT_MS') !== undefined ? 'REQUEST_TIMEOUT_MS' : 'HEADERS_TIMEOUT_MS';
    issues.push({
      variable,
      value: read(variable)!,
      expected:
        variable === 'REQUEST_TIMEOUT_MS'
          ? `at least HEADERS_TIMEOUT_MS (${headersTimeoutMs}): the request includes its headers`
          : `at most REQUEST_TIMEOUT_MS (${requestTimeoutMs}): the request includes its headers`,
    });
  }

  if (issues.length > 0) throw new ServiceConfigError(issues);
  return {
    port,
    host,
    logLevel,
    shutdownTimeoutMs,
    shutdownDelayMs,
    headersTimeoutMs,
    requestTimeoutMs,
    build: readBuildInfo(env),
  };
}

/** The build stamp the image bakes into env (see docker/Dockerfile); never fails. */
export function readBuildInfo(env: Env): BuildInfo {
  const get = (variable: string) => env[variable] || UNKNOWN;
  return {
    revision: get('APP_REVISION'),
    created: get('APP_CREATED'),
    source: get('APP_SOURCE'),
    buildUrl: get('APP_BUILD_URL'),
    version: get('APP_VERSION'),
  };
}
