import { request as httpRequestRaw } from 'node:http';
import { request as httpsRequestRaw } from 'node:https';

export interface HttpResponse {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

export interface HttpRequestOptions {
  method: 'GET' | 'HEAD' | 'PUT';
  headers: Record<string, string>;
  /**
   * Time until the response headers arrive (EDEADLINE when missed), within `timeoutMs`. Catches a
   * server that accepts and never answers long before a whole-body deadline sized for big bodies.
   */
  answerTimeoutMs?: number;
  /** Request body (PUT); sent with its Content-Length. */
  body?: Buffer;
  /**
   * Overall deadline: connect, headers and the whole body. Not an idle timer, so a peer that drips
   * one byte at a time is cut off too. Expiry rejects with code EDEADLINE (not retried).
   */
  timeoutMs: number;
  /** Bodies above this are refused: manifests and configs are small, anything huge is a mistake. */
  maxBodyBytes: number;
}

/** A network-level failure (no HTTP status). `code` is Node's, e.g. ECONNRESET. */
export class TransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

/** Codes that mean "the other side was briefly not there": worth a bounded retry. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** The code of a request cut off by its overall deadline. */
export const DEADLINE_CODE = 'EDEADLINE';

/** One HTTP exchange with node:http(s); no redirects, no retries (the registry client owns both). */
export function httpRequest(url: URL, options: HttpRequestOptions): Promise<HttpResponse> {
  const send = url.protocol === 'https:' ? httpsRequestRaw : httpRequestRaw;
  const where = `${options.method} ${url.origin}${url.pathname}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(answerTimer);
      fn();
    };
    const fail = (error: Error): void => finish(() => reject(toTransportError(error, url, options.method)));
    const headers = options.body !== undefined ? { ...options.headers, 'Content-Length': String(options.body.length) } : options.headers;
    const req = send(url, { method: options.method, headers }, (res) => {
      clearTimeout(answerTimer);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBodyBytes) {
          req.destroy(new TransportError('EMSGSIZE', `${where}: response larger than ${options.maxBodyBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })));
      res.on('error', fail);
      // A body shorter than its Content-Length ends in 'close' without 'end' on some Node versions.
      res.on('close', () => {
        if (!res.complete) fail(new TransportError('ECONNRESET', `${where}: connection closed after ${size} bytes, before the whole body arrived`));
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new TransportError(DEADLINE_CODE, `${where}: not complete within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const answerTimer =
      options.answerTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            req.destroy(new TransportError(DEADLINE_CODE, `${where}: no answer within ${options.answerTimeoutMs} ms`));
          }, options.answerTimeoutMs);
    req.on('error', fail);
    req.end(options.body);
  });
}

function toTransportError(error: Error, url: URL, method: string): TransportError {
  if (error instanceof TransportError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  return new TransportError(code, `${method} ${url.origin}${url.pathname}: ${code} ${error.message}`, { cause: error });
}
