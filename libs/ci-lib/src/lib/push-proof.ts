import { isRecord, matchesAny, type BuildkiteApiConfig } from '@engex/workspace-config';
import { buildkiteGet } from './buildkite-api.js';
import type { PushProof } from './push-image.js';
import type { RemoteImage } from './registry-client.js';
import { runCommand } from './run-command.js';
import type { RetryOptions } from './retry.js';
import { digestMetaDataKey } from './file-names.js';

/**
 * Where a trusted build records the digest it pushed: build meta-data `engex:<service>:digest`
 * (`digestMetaDataKey`, which the generator's image and deploy steps use too). Only trusted
 * agents run trusted builds' jobs (agent guard), and Buildkite records which build set it, so the
 * record is as trusted as the build that holds it.
 */
export function pushRecordKey(service: string): string {
  return digestMetaDataKey(service);
}

export interface PushProverOptions {
  /** The job's environment, for `buildkite-agent` (its agent token and job id). */
  env: NodeJS.ProcessEnv;
  /** Inside a Buildkite job: this build's meta-data can be asked. */
  onBuildkite: boolean;
  key: string;
  /** The commit this job builds: the earlier build must be of this commit. */
  revision: string;
  /** The workspace's trusted branches: the earlier build must be one of them, and no pull request. */
  trustedBranches: readonly string[];
  api?: BuildkiteApiConfig;
  apiBaseUrl?: string;
  deadlineMs: number;
  retry?: Partial<RetryOptions>;
  log: (line: string) => void;
}

/** `buildkite-agent meta-data get <key>` of this build, or undefined (absent, or not on an agent). */
async function readMetaData(options: PushProverOptions): Promise<string | undefined> {
  if (!options.onBuildkite) return undefined;
  try {
    const r = await runCommand('buildkite-agent', ['meta-data', 'get', options.key], {
      env: options.env,
      allowFailure: true,
      deadline: { ms: options.deadlineMs, error: () => new Error('buildkite-agent meta-data get did not finish in time') },
    });
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  } catch (error) {
    options.log(`push proof: this build's meta-data could not be read (${(error as Error).message})`);
    return undefined;
  }
}

/**
 * The `prove` of `pushImage`: first this build's own record (a retry of the image step), then
 * Buildkite's list of this pipeline's builds of this commit that recorded this digest, keeping
 * only a trusted one (no pull request, a trusted branch). Anything else proves nothing.
 */
export function createPushProver(options: PushProverOptions): (remote: RemoteImage) => Promise<PushProof | undefined> {
  return async (remote) => {
    const own = await readMetaData(options);
    if (own === remote.manifestDigest) return { digest: own, by: `this build's meta-data ${options.key}` };
    if (!options.api) {
      options.log(`push proof: no Buildkite API token (BUILDKITE_API_TOKEN, read_builds) to look for an earlier trusted build of ${options.revision}`);
      return undefined;
    }
    const { organization, pipeline, token } = options.api;
    const path =
      `/v2/organizations/${encodeURIComponent(organization)}/pipelines/${encodeURIComponent(pipeline)}/builds` +
      `?commit=${options.revision}&meta_data[${encodeURIComponent(options.key)}]=${encodeURIComponent(remote.manifestDigest)}&per_page=30`;
    const builds = await buildkiteGet(path, {
      token,
      deadlineMs: options.deadlineMs,
      baseUrl: options.apiBaseUrl || undefined,
      retry: options.retry,
    });
    for (const build of Array.isArray(builds) ? builds : []) {
      if (!isRecord(build)) continue;
      const branch = build['branch'];
      const trusted =
        (build['pull_request'] === null || build['pull_request'] === undefined) &&
        build['commit'] === options.revision &&
        typeof branch === 'string' &&
        matchesAny(branch, options.trustedBranches);
      if (trusted) return { digest: remote.manifestDigest, by: `build ${String(build['number'])} on ${branch} (Buildkite API)` };
    }
    return undefined;
  };
}

/** Records the pushed digest in this build's meta-data at once, so a retry of this job can prove it. */
export async function recordPush(options: PushProverOptions, digest: string): Promise<void> {
  if (!options.onBuildkite) return;
  try {
    await runCommand('buildkite-agent', ['meta-data', 'set', options.key, digest], {
      env: options.env,
      deadline: { ms: options.deadlineMs, error: () => new Error('buildkite-agent meta-data set did not finish in time') },
    });
  } catch (error) {
    // The step's own `meta-data set` runs next; a retry without either record fails loudly instead.
    options.log(`push proof: could not record ${digest} in meta-data ${options.key}: ${(error as Error).message}`);
  }
}

/** `buildkite-agent annotate` of a refused push, so the build page names the digest and its claimed build. */
export async function annotateRefusedPush(options: PushProverOptions, context: string, body: string): Promise<void> {
  if (!options.onBuildkite) return;
  try {
    await runCommand('buildkite-agent', ['annotate', '--style', 'error', '--context', context], {
      env: options.env,
      input: body,
      deadline: { ms: options.deadlineMs, error: () => new Error('buildkite-agent annotate did not finish in time') },
    });
  } catch (error) {
    options.log(`could not annotate the refused push: ${(error as Error).message}`);
  }
}
