import { RetryableStatus, httpRequest, normalizeRetryOptions, sendWithRetry, type RetryOptions } from '@engex/ci-lib';
import type { BuildkiteApiConfig } from '@engex/workspace-config';
import { BuildkiteApiError } from '../core/errors.js';

export interface HttpGetResponse {
  status: number;
  body: unknown;
  headers?: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * The one HTTP call the generator makes; injected so tests never reach Buildkite. `timeoutMs` is
 * what is left of the operation's overall deadline: the whole exchange, body included.
 */
export type HttpGet = (url: string, headers: Readonly<Record<string, string>>, options: { timeoutMs: number }) => Promise<HttpGetResponse>;

/** A list of one build is a few KB; anything near this is not Buildkite's answer. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** ci-lib's request: an overall deadline (a peer that drips one byte at a time is cut off too). */
export const nodeHttpGet: HttpGet = async (url, headers, { timeoutMs }) => {
  const res = await httpRequest(new URL(url), { method: 'GET', headers: { ...headers }, timeoutMs, maxBodyBytes: MAX_BODY_BYTES });
  const text = res.body.toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Non-JSON bodies (proxies, HTML error pages) are reported by status below.
  }
  return { status: res.status, body, headers: res.headers };
};

export const BUILDKITE_API = 'https://api.buildkite.com';

/** Documented in the README ("Deadlines"); ENGEX_PIPELINE_API_DEADLINE overrides it. */
export const DEFAULT_API_DEADLINE_MS = 30_000;

export interface BuildkiteApiOptions {
  /** Default https://api.buildkite.com. */
  baseUrl?: string;
  /** The whole operation: every attempt and every wait. Default 30 s. */
  deadlineMs?: number;
  /** Attempts, backoff and clock; `totalMs` is always the deadline. */
  retry?: Partial<RetryOptions>;
}

/**
 * The commit of the newest passed build on `branch`, or undefined when the branch has none yet.
 * `GET /v2/organizations/{org}/pipelines/{pipeline}/builds?branch=…&state=passed&per_page=1`,
 * within one overall deadline, retried with ci-lib's `sendWithRetry`. Every failure is a
 * BuildkiteApiError whose message names the operation and host, never the token.
 */
export async function readLastPassedCommit(http: HttpGet, api: BuildkiteApiConfig, branch: string, options: BuildkiteApiOptions = {}): Promise<string | undefined> {
  const baseUrl = options.baseUrl ?? BUILDKITE_API;
  const deadlineMs = options.deadlineMs ?? DEFAULT_API_DEADLINE_MS;
  const retry = normalizeRetryOptions({ ...options.retry, totalMs: deadlineMs });
  const url =
    `${baseUrl}/v2/organizations/${encodeURIComponent(api.organization)}/pipelines/${encodeURIComponent(api.pipeline)}` +
    `/builds?branch=${encodeURIComponent(branch)}&state=passed&per_page=1`;
  const host = new URL(baseUrl).host;
  const operation = `Buildkite API GET last passed build of ${JSON.stringify(branch)}`;
  const started = retry.now();
  const waited = (): string => `${((retry.now() - started) / 1000).toFixed(1)} s`;
  const outOfTime = (cause: unknown): BuildkiteApiError =>
    new BuildkiteApiError(
      `${operation} on ${host} did not finish within its ${deadlineMs / 1000} s deadline (waited ${waited()}); raise ENGEX_PIPELINE_API_DEADLINE (seconds) or check that ${host} is reachable.`,
      { cause },
    );

  let res: HttpGetResponse;
  try {
    res = await sendWithRetry((timeoutMs) => http(url, { Authorization: `Bearer ${api.token}`, Accept: 'application/json' }, { timeoutMs }), { retry, outOfTime });
  } catch (error) {
    if (error instanceof BuildkiteApiError) throw error;
    if (error instanceof RetryableStatus) {
      throw new BuildkiteApiError(`${operation} on ${host} answered ${error.message} after ${retry.attempts} attempt(s) in ${waited()}.`, { cause: error });
    }
    throw new BuildkiteApiError(`Buildkite API request failed: ${(error as Error).message} (${operation} on ${host}, after ${waited()}).`, { cause: error });
  }
  if (res.status !== 200) {
    throw new BuildkiteApiError(`Buildkite API answered HTTP ${res.status} for the last passed build of ${JSON.stringify(branch)}.`);
  }
  if (!Array.isArray(res.body)) {
    throw new BuildkiteApiError('Buildkite API answered with something other than a list of builds.');
  }
  const first: unknown = res.body[0];
  if (first === undefined) return undefined;
  const commit = typeof first === 'object' && first !== null ? (first as Record<string, unknown>)['commit'] : undefined;
  if (typeof commit !== 'string' || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new BuildkiteApiError(`Buildkite API returned a build without a 40-hex commit: ${JSON.stringify(commit)}.`);
  }
  return commit;
}
