import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** Headers whose values are credentials; their values are replaced wherever they are logged. */
export const SECRET_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-csrf-token',
  'x-amz-security-token',
];

export const REDACTED = '[Redacted]';

/**
 * pino redaction paths covering the shapes headers get logged in: `{ headers }`, `{ req: { headers } }`,
 * `{ request: { headers } }`, `{ res: { headers } }`, and one level deeper via the wildcard.
 */
export function redactPaths(headers: readonly string[] = SECRET_HEADERS): string[] {
  return headers.flatMap((h) => [
    `headers["${h}"]`,
    `*.headers["${h}"]`,
    `*.*.headers["${h}"]`,
  ]);
}

export interface ServiceLoggerOptions {
  service: string;
  level: LogLevel;
  /** Where the JSON lines go. Default: stdout, written asynchronously (flushed on exit). */
  destination?: DestinationStream;
}

/**
 * Structured JSON logs, one object per line, with the service name on every line and credential
 * headers redacted. No pino transports: they run in worker threads, which neither bundle into one
 * file nor belong in a container whose stdout is already collected.
 */
export function createServiceLogger(options: ServiceLoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      // Level names, not numbers: log pipelines and humans grep for "error", not 50.
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths(), censor: REDACTED },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
