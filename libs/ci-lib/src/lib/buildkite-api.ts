import { httpRequest } from './http-request.js';
import { RetryableStatus, sendWithRetry } from './http-retry.js';
import { InfrastructureError } from './errors.js';
import { normalizeRetryOptions, type RetryOptions } from './retry.js';

/**
 * Buildkite's REST API, read-only, as the agent guard and `image push` ask it: one GET within one
 * overall deadline, retried on 429/5xx and transient network errors. Errors name the operation
 * and host, never the token.
 */
export const BUILDKITE_API_URL = 'https://api.buildkite.com';

/** A build's JSON is a few hundred KB at most (its jobs included). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface BuildkiteApiClientOptions {
  token: string;
  /** Default https://api.buildkite.com; tests give a fake on 127.0.0.1. */
  baseUrl?: string;
  /** The whole operation: every attempt and every wait. */
  deadlineMs: number;
  retry?: Partial<RetryOptions>;
}

/** Buildkite's API failed, was unreachable, or answered something we cannot use. */
export class BuildkiteApiError extends InfrastructureError {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** GET `path` (e.g. `/v2/organizations/o/pipelines/p/builds/12`); the parsed JSON of a 200, else a BuildkiteApiError. */
export async function buildkiteGet(path: string, options: BuildkiteApiClientOptions): Promise<unknown> {
  const base = options.baseUrl ?? BUILDKITE_API_URL;
  const url = new URL(path, base);
  const retry = normalizeRetryOptions({ ...options.retry, totalMs: options.deadlineMs });
  const operation = `Buildkite API GET ${url.pathname}`;
  const outOfTime = (cause: unknown): BuildkiteApiError =>
    new BuildkiteApiError(`${operation} on ${url.host} did not finish within its ${options.deadlineMs / 1000} s deadline; check that ${url.host} is reachable.`, undefined, {
      cause,
    });
  let res;
  try {
    res = await sendWithRetry(
      (timeoutMs) =>
        httpRequest(url, { method: 'GET', headers: { Authorization: `Bearer ${options.token}`, Accept: 'application/json' }, timeoutMs, maxBodyBytes: MAX_BODY_BYTES }),
      { retry, outOfTime },
    );
  } catch (error) {
    if (error instanceof BuildkiteApiError) throw error;
    if (error instanceof RetryableStatus) throw new BuildkiteApiError(`${operation} on ${url.host} answered HTTP ${error.status} after retries.`, error.status, { cause: error });
    throw new BuildkiteApiError(`${operation} on ${url.host} failed: ${(error as Error).message}`, undefined, { cause: error });
  }
  if (res.status !== 200) {
    const why =
      res.status === 401 || res.status === 403 ? ' (the token is missing, wrong, or lacks read_builds)' : res.status === 404 ? ' (no such build, or not visible to the token)' : '';
    throw new BuildkiteApiError(`${operation} on ${url.host} answered HTTP ${res.status}${why}.`, res.status);
  }
  try {
    return JSON.parse(res.body.toString('utf8')) as unknown;
  } catch (error) {
    throw new BuildkiteApiError(`${operation} on ${url.host} answered 200 with a body that is not JSON.`, res.status, { cause: error });
  }
}

/** `/v2/organizations/{org}/pipelines/{pipeline}/builds/{number}`, each part escaped. */
export function buildPath(organization: string, pipeline: string, number: number): string {
  return `/v2/organizations/${encodeURIComponent(organization)}/pipelines/${encodeURIComponent(pipeline)}/builds/${number}`;
}
