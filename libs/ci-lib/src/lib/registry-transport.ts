import { DEFAULT_DEADLINES, deadlineHint } from './deadlines.js';
import { DeadlineExceededError, RegistryError, RegistryThrottledError } from './errors.js';
import { DEADLINE_CODE, TRANSIENT_CODES, TransportError, httpRequest, type HttpResponse } from './http-request.js';
import { normalizeRetryOptions, parseRetryAfter, withRetry, type RetryOptions } from './retry.js';
import type { Secret } from './secret.js';
import { isRecord } from '@engex/workspace-config';

export interface RegistryCredentials {
  username: string;
  password: Secret;
}

export interface RegistryClientOptions {
  /** Host (with port) and protocol, e.g. from `registryTargetFor`. */
  registry: { host: string; protocol: 'http' | 'https' };
  /** Basic credentials (ECR's token), fetched once on first use; none for a plain registry. */
  credentials?: () => Promise<RegistryCredentials>;
  retry?: Partial<RetryOptions>;
  /** One line per request and per retry; never headers or credentials. */
  log?: (line: string) => void;
  /**
   * Overall deadline of one logical request: auth, redirects, retries and the whole body. Default
   * 60 s (`DEFAULT_DEADLINES.registryMs`). Expiry is a DeadlineExceededError (exit 4).
   */
  deadlineMs?: number;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="...",service="...",scope="..."`. */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const match = /^\s*(\S+)\s*(.*)$/.exec(value);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const m of match[2]!.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

/** 429 and every 5xx are worth asking again; other 4xx will not change by asking again. */
function isRetryable(error: unknown): boolean {
  if (error instanceof TransportError) return TRANSIENT_CODES.has(error.code);
  if (error instanceof RegistryThrottledError) return true;
  return error instanceof RegistryError && error.status !== undefined && error.status >= 500;
}

export function header(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** One logical registry request at a time: what the client's operations are built on. */
export interface RegistryTransport {
  /** `<protocol>://<host>`. */
  base: string;
  host: string;
  retry: RetryOptions;
  /** The client's deadline for one logical request. */
  deadlineMs: number;
  /**
   * One logical request: auth, redirects (dropping Authorization across hosts) and retries, within
   * one deadline (`budgetMs`, default the client's; less for a page of a listing that shares it).
   */
  send(method: 'GET' | 'HEAD', path: string, accept: string, budgetMs?: number): Promise<HttpResponse>;
  /** A RegistryError for a status the operation did not expect, with a short body. */
  unexpected(what: string, res: HttpResponse): RegistryError;
}

/**
 * The OCI distribution API's transport over node:http(s): Basic auth when credentials are given,
 * an anonymous or Basic-backed Bearer token when the registry challenges for one, bounded
 * jittered retries on 5xx and transient network errors, never on 4xx.
 */
export function createRegistryTransport(options: RegistryClientOptions): RegistryTransport {
  const retry = normalizeRetryOptions(options.retry);
  const log = options.log ?? (() => {});
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINES.registryMs;
  const base = `${options.registry.protocol}://${options.registry.host}`;
  let credentials: Promise<RegistryCredentials> | undefined;
  let bearer: string | undefined;

  const getCredentials = async (): Promise<RegistryCredentials | undefined> => {
    if (!options.credentials) return undefined;
    credentials ??= options.credentials();
    return credentials;
  };

  const basicHeader = (c: RegistryCredentials): string => `Basic ${Buffer.from(`${c.username}:${c.password.reveal()}`).toString('base64')}`;

  async function fetchBearer(challenge: Challenge, creds: RegistryCredentials | undefined, timeoutMs: number): Promise<string> {
    const realm = challenge.params['realm'];
    if (!realm || !/^https?:\/\//.test(realm)) {
      throw new RegistryError(`${options.registry.host} asked for a Bearer token without a usable realm; cannot authenticate`, 401);
    }
    const url = new URL(realm);
    for (const key of ['service', 'scope']) {
      const value = challenge.params[key];
      if (value) url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (creds) headers['Authorization'] = basicHeader(creds);
    const res = await httpRequest(url, { method: 'GET', headers, timeoutMs, maxBodyBytes: 1 << 20 });
    log(`GET ${url.origin}${url.pathname} (token) -> ${res.status}`);
    throwIfThrottled(res, `token service ${url.origin}`);
    if (res.status >= 500) throw new RegistryError(`token service ${url.origin} answered ${res.status}`, res.status);
    if (res.status !== 200) {
      throw new RegistryError(
        `token service ${url.origin} refused a token (${res.status}) for ${options.registry.host}; ` +
          (creds ? 'the credentials were rejected' : 'it needs credentials, which engex-ci only has for ECR'),
        res.status,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RegistryError(`token service ${url.origin} returned a body that is not JSON`, res.status);
    }
    const token = isRecord(body) ? (body['token'] ?? body['access_token']) : undefined;
    if (typeof token !== 'string' || token === '') throw new RegistryError(`token service ${url.origin} returned no token`, res.status);
    return token;
  }

  /** 429 and 503 carry the server's own wait; withRetry honours it. */
  function throwIfThrottled(res: HttpResponse, who: string): void {
    if (res.status !== 429 && res.status !== 503) return;
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], retry.now());
    const asked = retryAfterMs !== undefined ? `, Retry-After ${Math.round(retryAfterMs / 1000)} s` : '';
    throw new RegistryThrottledError(`${who} answered ${res.status} (${res.status === 429 ? 'too many requests' : 'unavailable'}${asked})`, res.status, retryAfterMs);
  }

  async function send(method: 'GET' | 'HEAD', path: string, accept: string, budgetMs = deadlineMs): Promise<HttpResponse> {
    const started = retry.now();
    const remaining = (): number => Math.max(1, budgetMs - (retry.now() - started));
    return withRetry(
      async () => {
        let url = new URL(`${base}${path}`);
        let authTried = false;
        for (let hop = 0; hop < 6; hop++) {
          const sameHost = url.host === options.registry.host;
          const headers: Record<string, string> = { Accept: accept, 'User-Agent': 'engex-ci' };
          const creds = await getCredentials();
          if (sameHost) {
            if (bearer) headers['Authorization'] = `Bearer ${bearer}`;
            else if (creds) headers['Authorization'] = basicHeader(creds);
          }
          const res = await httpRequest(url, { method, headers, timeoutMs: remaining(), maxBodyBytes: 16 << 20 });
          log(`${method} ${url.origin}${url.pathname} -> ${res.status}`);
          throwIfThrottled(res, `${method} ${url.origin}${url.pathname}`);
          if (res.status === 401 && sameHost && !authTried) {
            authTried = true;
            const challenge = parseChallenge(res.headers['www-authenticate']);
            if (challenge?.scheme === 'bearer') {
              bearer = await fetchBearer(challenge, creds, remaining());
              hop--;
              continue;
            }
            throw new RegistryError(
              creds
                ? `${options.registry.host} rejected the registry credentials (401); the ECR token may have expired, run the step again`
                : `${options.registry.host} requires authentication (401 ${challenge?.scheme ?? 'without a challenge'}); engex-ci authenticates only to ECR (unset REGISTRY) or to open registries`,
              401,
            );
          }
          if ([301, 302, 303, 307, 308].includes(res.status)) {
            const location = header(res, 'location');
            if (!location) throw new RegistryError(`${method} ${url.pathname}: redirect ${res.status} without Location`, res.status);
            url = new URL(location, url);
            continue;
          }
          if (res.status >= 500) throw new RegistryError(`${method} ${url.origin}${url.pathname}: registry error ${res.status}`, res.status);
          return res;
        }
        throw new RegistryError(`${method} ${path}: too many redirects`);
      },
      {
        ...retry,
        totalMs: Math.min(retry.totalMs, budgetMs),
        isRetryable,
        retryAfterMs: (error) => (error instanceof RegistryThrottledError ? error.retryAfterMs : undefined),
        onRetry: (error, attempt, delay) => log(`retrying ${method} ${path} in ${delay} ms (attempt ${attempt + 1}/${retry.attempts}): ${(error as Error).message}`),
        onGiveUp: (error, reason) =>
          reason.kind === 'retry-after-too-long' && error instanceof RegistryThrottledError
            ? new RegistryThrottledError(
                `${error.message}; that is longer than the ${Math.round(retry.maxRetryAfterMs / 1000)} s engex-ci waits, so it gave up. Retry the step later.`,
                error.status ?? 429,
                reason.retryAfterMs,
              )
            : error,
      },
    ).catch((error: unknown) => {
      if (error instanceof TransportError && error.code === DEADLINE_CODE) {
        throw new DeadlineExceededError(`registry ${method} ${path}`, options.registry.host, retry.now() - started, budgetMs, deadlineHint('registryMs'), { cause: error });
      }
      if (error instanceof TransportError) {
        throw new RegistryError(`cannot reach registry ${options.registry.host}: ${error.message}`, undefined, { cause: error });
      }
      throw error;
    });
  }

  function unexpected(what: string, res: HttpResponse): RegistryError {
    const detail = res.body.length > 0 && res.body.length < 2000 ? `: ${res.body.toString('utf8').trim()}` : '';
    return new RegistryError(`${what}: unexpected ${res.status}${detail}`, res.status);
  }

  return { base, host: options.registry.host, retry, deadlineMs, send, unexpected };
}
