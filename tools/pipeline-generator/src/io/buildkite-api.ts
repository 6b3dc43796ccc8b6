import type { BuildkiteApiConfig } from '@engex/workspace-config';
import { BuildkiteApiError } from '../core/errors.js';

/** The one HTTP call the generator makes; injected so tests never reach Buildkite. */
export type HttpGet = (url: string, headers: Readonly<Record<string, string>>) => Promise<{ status: number; body: unknown }>;

export const fetchHttpGet: HttpGet = async (url, headers) => {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Non-JSON bodies (proxies, HTML error pages) are reported by status below.
  }
  return { status: res.status, body };
};

export const BUILDKITE_API = 'https://api.buildkite.com';

/**
 * The commit of the newest passed build on `branch`, or undefined when the branch has none yet.
 * `GET /v2/organizations/{org}/pipelines/{pipeline}/builds?branch=…&state=passed&per_page=1`.
 */
export async function readLastPassedCommit(
  http: HttpGet,
  api: BuildkiteApiConfig,
  branch: string,
  baseUrl = BUILDKITE_API,
): Promise<string | undefined> {
  const url =
    `${baseUrl}/v2/organizations/${encodeURIComponent(api.organization)}/pipelines/${encodeURIComponent(api.pipeline)}` +
    `/builds?branch=${encodeURIComponent(branch)}&state=passed&per_page=1`;
  let res: { status: number; body: unknown };
  try {
    res = await http(url, { Authorization: `Bearer ${api.token}`, Accept: 'application/json' });
  } catch (error) {
    throw new BuildkiteApiError(`Buildkite API request failed: ${(error as Error).message}`, { cause: error });
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
