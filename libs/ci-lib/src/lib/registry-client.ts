import { createHash } from 'node:crypto';
import { DEFAULT_DEADLINES, deadlineHint } from './deadlines.js';
import { DeadlineExceededError, RegistryError, RegistryThrottledError } from './errors.js';
import { DEADLINE_CODE, TRANSIENT_CODES, TransportError, httpRequest, type HttpResponse } from './http-request.js';
import { normalizeRetryOptions, parseRetryAfter, withRetry, type RetryOptions } from './retry.js';
import type { Secret } from './secret.js';
import { isRecord } from '@engex/workspace-config';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/**
 * Without these a registry may down-convert to schema 1 (distribution 2.x does), whose digest
 * never matches what `docker push` reported.
 */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest].join(', ');

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

export type ManifestHead = { exists: false } | { exists: true; digest: string; mediaType?: string };

export interface RemoteImage {
  /** Digest of the manifest the tag points at (for an index: the index's digest). */
  manifestDigest: string;
  /** The image config digest: equal to `docker inspect .Id` of the image that was pushed. */
  configDigest: string;
  /** Config labels, e.g. org.opencontainers.image.revision. */
  labels: Record<string, string>;
  /** Compressed size: config plus layers as stored in the registry. */
  size: number;
  /** The config's `created` time as written (RFC 3339), when it has one. */
  created?: string;
}

export interface RegistryClient {
  /** `HEAD /v2/<repo>/manifests/<ref>`: does the tag exist, and with which digest? */
  headManifest(repository: string, reference: string): Promise<ManifestHead>;
  /** Resolves a tag to its image config (for an index, the `platform` entry). Undefined when absent. */
  inspectImage(repository: string, reference: string, platform?: { os: string; architecture: string }): Promise<RemoteImage | undefined>;
  /** `GET /v2/`: the registry answers the distribution API (auth included). Throws when it does not. */
  ping(): Promise<void>;
  /**
   * `GET /v2/<repo>/tags/list`, following `Link: rel="next"` pages up to `maxTags`, at most
   * `maxPages` pages, all within the client's one deadline. Undefined when the registry does not
   * know the repository (404). A `next` that cannot advance (from a page without tags, or to a
   * page already read) is a RegistryError naming the link.
   */
  listTags(repository: string, options?: { maxTags?: number; maxPages?: number }): Promise<string[] | undefined>;
}

/** Tags read from one repository at most; a repository with more is a registry to clean up, not list. */
export const MAX_LISTED_TAGS = 10_000;

/**
 * Pages read at most: 10,000 tags at the 1,000 we ask for is 10 pages, and registries that cap a
 * page lower (Docker Hub: 100) still fit. Beyond that a registry is looping, not listing.
 */
export const MAX_TAG_PAGES = 200;

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

function header(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/**
 * One code path for every registry, ECR or plain: the OCI distribution API over node:http(s),
 * Basic auth when credentials are given, an anonymous or Basic-backed Bearer token when the
 * registry challenges for one, bounded jittered retries on 5xx and transient network errors,
 * never on 4xx (a 4xx will not change by asking again).
 */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
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

  /**
   * One logical request: auth, redirects (dropping Authorization across hosts) and retries, within
   * one deadline (`budgetMs`, default the client's; less for a page of a listing that shares it).
   */
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

  const manifestPath = (repository: string, reference: string): string => `/v2/${repository}/manifests/${reference}`;

  async function getManifest(
    repository: string,
    reference: string,
    accept = MANIFEST_ACCEPT,
  ): Promise<{ digest: string; mediaType: string; manifest: Record<string, unknown>; size: number } | undefined> {
    const res = await send('GET', manifestPath(repository, reference), accept);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw unexpected(`GET manifest ${repository}:${reference}`, res);
    const digest = sha256(res.body);
    const claimed = header(res, 'docker-content-digest');
    if (claimed && claimed !== digest) {
      throw new RegistryError(`manifest ${repository}:${reference}: registry says ${claimed} but the body hashes to ${digest}`);
    }
    let manifest: unknown;
    try {
      manifest = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RegistryError(`manifest ${repository}:${reference} is not JSON`);
    }
    if (!isRecord(manifest)) throw new RegistryError(`manifest ${repository}:${reference} is not a JSON object`);
    const mediaType = typeof manifest['mediaType'] === 'string' ? manifest['mediaType'] : (header(res, 'content-type') ?? '');
    return { digest, mediaType, manifest, size: res.body.length };
  }

  return {
    async headManifest(repository, reference) {
      const res = await send('HEAD', manifestPath(repository, reference), MANIFEST_ACCEPT);
      if (res.status === 404) return { exists: false };
      if (res.status !== 200) throw unexpected(`HEAD manifest ${repository}:${reference}`, res);
      const digest = header(res, 'docker-content-digest');
      if (digest) return { exists: true, digest, mediaType: header(res, 'content-type') };
      // Some registries omit the header on HEAD; the digest is then the hash of the GET body.
      const got = await getManifest(repository, reference);
      return got ? { exists: true, digest: got.digest, mediaType: got.mediaType } : { exists: false };
    },

    async inspectImage(repository, reference, platform = { os: 'linux', architecture: 'amd64' }) {
      const top = await getManifest(repository, reference);
      if (!top) return undefined;
      let image = top;
      if (top.mediaType === MEDIA_TYPES.ociIndex || top.mediaType === MEDIA_TYPES.dockerList || Array.isArray(top.manifest['manifests'])) {
        const entries = (top.manifest['manifests'] as unknown[]).filter(isRecord);
        const match = entries.find((m) => isRecord(m['platform']) && m['platform']['os'] === platform.os && m['platform']['architecture'] === platform.architecture);
        if (!match || typeof match['digest'] !== 'string') {
          throw new RegistryError(`${repository}:${reference} is an index without a ${platform.os}/${platform.architecture} image`);
        }
        const child = await getManifest(repository, match['digest']);
        if (!child) throw new RegistryError(`${repository}:${reference}: index entry ${match['digest']} is missing`);
        image = child;
      }
      const config = image.manifest['config'];
      if (!isRecord(config) || typeof config['digest'] !== 'string') {
        throw new RegistryError(`${repository}:${reference}: manifest ${image.digest} has no config descriptor (schema 1?)`);
      }
      const configDigest = config['digest'];
      const layers = Array.isArray(image.manifest['layers']) ? image.manifest['layers'].filter(isRecord) : [];
      const size = [config, ...layers].reduce((sum, d) => sum + (typeof d['size'] === 'number' ? d['size'] : 0), 0);

      const res = await send('GET', `/v2/${repository}/blobs/${configDigest}`, 'application/json, */*');
      if (res.status !== 200) throw unexpected(`GET config blob ${configDigest}`, res);
      if (sha256(res.body) !== configDigest) throw new RegistryError(`config blob of ${repository}:${reference} does not hash to ${configDigest}`);
      let labels: Record<string, string> = {};
      let created: string | undefined;
      try {
        const parsed: unknown = JSON.parse(res.body.toString('utf8'));
        const inner = isRecord(parsed) && isRecord(parsed['config']) ? parsed['config']['Labels'] : undefined;
        if (isRecord(inner)) labels = Object.fromEntries(Object.entries(inner).filter((e): e is [string, string] => typeof e[1] === 'string'));
        if (isRecord(parsed) && typeof parsed['created'] === 'string') created = parsed['created'];
      } catch {
        throw new RegistryError(`config blob ${configDigest} of ${repository}:${reference} is not JSON`);
      }
      return { manifestDigest: top.digest, configDigest, labels, size, ...(created !== undefined ? { created } : {}) };
    },

    async ping() {
      const res = await send('GET', '/v2/', 'application/json');
      if (res.status !== 200) throw unexpected(`GET ${base}/v2/ (is this an OCI registry?)`, res);
    },

    // Each page is bounded by its request deadline, but a registry can hand out `next` links
    // forever (an empty page linking on answered 100k requests in 20 s): the listing as a whole
    // gets one deadline and a page count, and a link that cannot advance is refused at once.
    async listTags(repository, { maxTags = MAX_LISTED_TAGS, maxPages = MAX_TAG_PAGES } = {}) {
      const started = retry.now();
      const tags: string[] = [];
      const read = new Set<string>();
      let path: string | undefined = `/v2/${repository}/tags/list?n=1000`;
      while (path !== undefined && tags.length < maxTags) {
        if (read.size >= maxPages) {
          throw new RegistryError(
            `tags list of ${repository} on ${options.registry.host}: still a next page after ${maxPages} pages (${tags.length} tags), next ${path}; the registry's pagination does not end`,
          );
        }
        const left = deadlineMs - (retry.now() - started);
        if (left <= 0) {
          throw new DeadlineExceededError(
            `registry tags list of ${repository} (${read.size} pages, next ${path})`,
            options.registry.host,
            retry.now() - started,
            deadlineMs,
            deadlineHint('registryMs'),
          );
        }
        read.add(path);
        const res = await send('GET', path, 'application/json', left);
        if (res.status === 404) return tags.length === 0 ? undefined : tags;
        if (res.status !== 200) throw unexpected(`GET tags of ${repository}`, res);
        let body: unknown;
        try {
          body = JSON.parse(res.body.toString('utf8'));
        } catch {
          throw new RegistryError(`tags list of ${repository} is not JSON`);
        }
        const page = isRecord(body) && Array.isArray(body['tags']) ? body['tags'].filter((t): t is string => typeof t === 'string') : [];
        tags.push(...page);
        const next = nextPage(header(res, 'link'), base);
        if (next !== undefined && page.length === 0) {
          throw new RegistryError(
            `tags list of ${repository} on ${options.registry.host}: page ${read.size} (${path}) has no tags but links to next ${next}; the registry's pagination does not advance`,
          );
        }
        if (next !== undefined && read.has(next)) {
          throw new RegistryError(
            `tags list of ${repository} on ${options.registry.host}: page ${read.size} links to next ${next}, a page already read; the registry's pagination loops`,
          );
        }
        path = next;
      }
      return tags.slice(0, maxTags);
    },
  };
}

/** Pure: the path of `Link: </v2/x/tags/list?n=1000&last=y>; rel="next"` on the same registry. */
export function nextPage(link: string | undefined, base: string): string | undefined {
  const match = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  if (!match) return undefined;
  const url = new URL(match[1]!, base);
  return url.origin === new URL(base).origin ? `${url.pathname}${url.search}` : undefined;
}
