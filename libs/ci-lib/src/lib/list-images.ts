import type { EcrImageDetail } from './ecr-credentials.js';
import { OCI, formatRfc3339 } from './labels.js';
import type { RegistryClient } from './registry-client.js';
import type { Fact } from './fact.js';
import { redact } from './redact.js';
import { renderColumns } from './terminal-text.js';

export interface ImageRow {
  digest: string;
  tags: string[];
  /** The image's org.opencontainers.image.revision label. */
  revision: Fact<string>;
  /** When the image was built (config `created`), else when it was pushed (ECR). */
  created?: string;
  /** Compressed bytes in the registry. */
  sizeBytes?: number;
}

/** Tags inspected at most on a plain registry, which has no listing by date: every tag costs two requests. */
export const MAX_INSPECTED_TAGS = 200;

const fail = (error: unknown): Fact<string> => ({ ok: false, reason: `unreachable: ${redact(error instanceof Error ? error.message.split('\n')[0]! : String(error))}` });

async function revisionOf(registry: RegistryClient, repository: string, reference: string): Promise<{ revision: Fact<string>; created?: string; size?: number }> {
  try {
    const image = await registry.inspectImage(repository, reference);
    if (!image) return { revision: { ok: false, reason: 'manifest gone' } };
    const label = image.labels[OCI.revision];
    return {
      revision: label ? { ok: true, value: label } : { ok: false, reason: 'no revision label' },
      size: image.size,
      created: image.created,
    };
  } catch (error) {
    return { revision: fail(error) };
  }
}

/**
 * A plain registry: the tags list, then each tag's manifest and config (revision, created). Tags
 * of one manifest make one row; newest first by `created`. Undefined when the repository is unknown.
 */
export async function listPlainImages(registry: RegistryClient, repository: string, limit: number): Promise<ImageRow[] | undefined> {
  const tags = await registry.listTags(repository);
  if (tags === undefined) return undefined;
  const byDigest = new Map<string, ImageRow>();
  for (const tag of tags.slice(0, MAX_INSPECTED_TAGS)) {
    const image = await registry.inspectImage(repository, tag);
    if (!image) continue;
    const row = byDigest.get(image.manifestDigest);
    if (row) {
      row.tags.push(tag);
      continue;
    }
    const label = image.labels[OCI.revision];
    byDigest.set(image.manifestDigest, {
      digest: image.manifestDigest,
      tags: [tag],
      revision: label ? { ok: true, value: label } : { ok: false, reason: 'no revision label' },
      created: image.created,
      sizeBytes: image.size,
    });
  }
  return newestFirst([...byDigest.values()]).slice(0, limit);
}

/** ECR: DescribeImages gives digest, tags, size and push time; the revision label comes from the image config through the registry API. */
export async function listEcrImages(details: readonly EcrImageDetail[], registry: RegistryClient, repository: string, limit: number): Promise<ImageRow[]> {
  const newest = [...details].sort((a, b) => (b.pushedAt?.getTime() ?? 0) - (a.pushedAt?.getTime() ?? 0)).slice(0, limit);
  const rows: ImageRow[] = [];
  for (const d of newest) {
    const read = await revisionOf(registry, repository, d.digest);
    rows.push({
      digest: d.digest,
      tags: [...d.tags],
      revision: read.revision,
      created: read.created ?? (d.pushedAt && formatRfc3339(d.pushedAt)),
      sizeBytes: d.sizeBytes,
    });
  }
  return rows;
}

function newestFirst(rows: ImageRow[]): ImageRow[] {
  const time = (r: ImageRow): number => (r.created ? Date.parse(r.created) || 0 : 0);
  return rows.sort((a, b) => time(b) - time(a) || a.digest.localeCompare(b.digest));
}

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** Pure: the table (full digests: they are what a deploy pins). */
export function renderImagesTable(rows: readonly ImageRow[]): string {
  const header = ['CREATED', 'REVISION', 'SIZE', 'DIGEST', 'TAGS'];
  const body = rows.map((r) => [
    r.created ?? '-',
    r.revision.ok ? r.revision.value.slice(0, 12) : r.revision.reason,
    r.sizeBytes !== undefined ? human(r.sizeBytes) : '-',
    r.digest,
    [...r.tags]
      .sort((a, b) => a.length - b.length || a.localeCompare(b))
      .map((t) => (/^[0-9a-f]{40}$/.test(t) ? t.slice(0, 12) : t))
      .join(', '),
  ]);
  return `${renderColumns(header, body).join('\n')}\n`;
}
