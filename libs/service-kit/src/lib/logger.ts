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

/** Where headers end up in log objects: `log.info({ headers })`, `{ req: { headers } }`, an axios error... */
const HEADER_HOLDERS = ['', 'req.', 'request.', 'res.', 'reply.', 'response.', 'err.config.', 'err.response.'];

/**
 * pino redaction paths for the secret headers, lowercase (how Node receives them) and capitalized
 * (how clients often send them). Every path starts with a named key, never a wildcard: pino then
 * pays for redaction only on lines that carry that key, instead of walking every access-log line
 * (a leading `*` cost ~10% of throughput in bench/halow-http).
 */
export function redactPaths(headers: readonly string[] = SECRET_HEADERS): string[] {
  const spellings = headers.flatMap((h) => {
    const capitalized = h.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
    return capitalized === h ? [h] : [h, capitalized];
  });
  return HEADER_HOLDERS.flatMap((holder) => spellings.map((h) => `${holder}headers["${h}"]`));
}

/**
 * pino's error serializer copies every enumerable field, and Node's HTTP parser errors carry the
 * raw request bytes (`rawPacket`: Authorization and Cookie headers included). Bytes never reach
 * a log line, at any level: `rawPacket` and every Buffer or typed array are dropped, here and in
 * nested causes.
 */
export function serializeError(error: unknown): unknown {
  return withoutRawBytes(pino.stdSerializers.err(error as Error), 0);
}

function withoutRawBytes(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => withoutRawBytes(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'rawPacket' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) continue;
    out[key] = withoutRawBytes(v, depth + 1);
  }
  return out;
}

/**
 * Log lines are written in batches of this many bytes (and every LOG_FLUSH_INTERVAL_MS and on
 * shutdown, see startService). Measured in bench/halow-http: one write per access-log line cost
 * more CPU than the rest of the request.
 */
export const LOG_BUFFER_BYTES = 4096;

export interface ServiceLoggerOptions {
  service: string;
  level: LogLevel;
  /**
   * Where the JSON lines go. Default: stdout, LOG_BUFFER_BYTES at a time with synchronous writes.
   * Synchronous, because an async write per batch costs a thread-pool round trip (several times
   * the write itself on a busy VM) and because a stdout that cannot keep up should slow the
   * service down rather than grow its memory. What is still buffered when the process crashes or is
   * SIGKILLed (under a second of lines) is lost; a normal shutdown flushes it.
   */
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
      serializers: { err: serializeError },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true, minLength: LOG_BUFFER_BYTES }),
  );
}
