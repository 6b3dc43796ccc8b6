import { createHash } from 'node:crypto';
import { RegistryError } from './errors.js';
import { listTags } from './registry-tags.js';
import { createRegistryTransport, header, type RegistryClientOptions } from './registry-transport.js';
import { isRecord } from '@engex/workspace-config';

export type { RegistryClientOptions } from './registry-transport.js';

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

function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/**
 * One code path for every registry, ECR or plain: the OCI distribution API over node:http(s),
 * Basic auth when credentials are given, an anonymous or Basic-backed Bearer token when the
 * registry challenges for one, bounded jittered retries on 5xx and transient network errors,
 * never on 4xx (a 4xx will not change by asking again).
 *//**
 * One code path for every registry, ECR or plain: the OCI distribution API through one transport
 * (auth, redirects, retries, one deadline per logical request; see registry-transport.ts).
 */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const transport = createRegistryTransport(options);
  const { send, unexpected, base } = transport;

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
      return { manifestDigest: top.digest, configDigest, labels, size, created };
    },

    async ping() {
      const res = await send('GET', '/v2/', 'application/json');
      if (res.status !== 200) throw unexpected(`GET ${base}/v2/ (is this an OCI registry?)`, res);
    },
    listTags: (repository, listOptions) => listTags(transport, repository, listOptions),
  };
}
