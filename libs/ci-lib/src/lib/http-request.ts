import { request as httpRequestRaw } from 'node:http';
import { request as httpsRequestRaw } from 'node:https';

export interface HttpResponse {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

export interface HttpRequestOptions {
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  /** Whole-request timeout. */
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

/** One HTTP exchange with node:http(s); no redirects, no retries (the registry client owns both). */
export function httpRequest(url: URL, options: HttpRequestOptions): Promise<HttpResponse> {
  const send = url.protocol === 'https:' ? httpsRequestRaw : httpRequestRaw;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: options.method, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBodyBytes) {
          req.destroy(new TransportError('EMSGSIZE', `${options.method} ${url.origin}${url.pathname}: response larger than ${options.maxBodyBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (error) => reject(toTransportError(error, url, options.method)));
    });
    req.setTimeout(options.timeoutMs, () => {
      req.destroy(new TransportError('ETIMEDOUT', `${options.method} ${url.origin}${url.pathname}: no response within ${options.timeoutMs} ms`));
    });
    req.on('error', (error) => reject(toTransportError(error, url, options.method)));
    req.end();
  });
}

function toTransportError(error: Error, url: URL, method: string): TransportError {
  if (error instanceof TransportError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  return new TransportError(code, `${method} ${url.origin}${url.pathname}: ${code} ${error.message}`, { cause: error });
}
