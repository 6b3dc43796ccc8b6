import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface UploadedImage {
  manifestDigest: string;
  configDigest: string;
  /** Config + layer sizes, as the registry client reports them. */
  size: number;
}

const digestOf = (body: Buffer): string => `sha256:${createHash('sha256').update(body).digest('hex')}`;

async function putBlob(host: string, repository: string, body: Buffer): Promise<string> {
  const digest = digestOf(body);
  const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location')!, `http://${host}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body, headers: { 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`upload ${digest}: ${put.status} ${await put.text()}`);
  return digest;
}

export async function putManifest(host: string, repository: string, reference: string, mediaType: string, manifest: unknown): Promise<string> {
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, { method: 'PUT', body, headers: { 'Content-Type': mediaType } });
  if (res.status !== 201) throw new Error(`manifest ${reference}: ${res.status} ${await res.text()}`);
  return digestOf(body);
}

/**
 * Uploads a tiny single-layer image straight through the distribution API, so registry tests do
 * not need a Docker engine. `content` makes images differ; `labels` land in the config.
 */
export async function uploadTestImage(
  host: string,
  repository: string,
  tag: string,
  options: { content?: string; labels?: Record<string, string>; mediaType?: 'docker' | 'oci'; created?: string } = {},
): Promise<UploadedImage> {
  const layer = gzipSync(Buffer.from(options.content ?? 'hello'));
  const diffId = digestOf(Buffer.from(options.content ?? 'hello'));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: options.created,
      config: { Labels: options.labels ?? {} },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }),
  );
  const layerDigest = await putBlob(host, repository, layer);
  const configDigest = await putBlob(host, repository, config);
  const oci = options.mediaType === 'oci';
  const manifest = {
    schemaVersion: 2,
    mediaType: oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configDigest },
    layers: [{ mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: layerDigest }],
  };
  const manifestDigest = await putManifest(host, repository, tag, manifest.mediaType, manifest);
  return { manifestDigest, configDigest, size: config.length + layer.length };
}
