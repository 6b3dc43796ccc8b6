import { isMap, isScalar, type YAMLMap } from 'yaml';
import { ManifestError } from './errors.js';
import { parseKustomization, scalarText } from './kustomization-file.js';
import { appendImageEntry, editEntryInPlace } from './kustomization-splice.js';
import { isValidDockerTag } from './tags.js';

/** What `deploy bump` asks of one kustomization. */
export interface ImageEditRequest {
  /** The pushed repository, without tag, e.g. `460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow`. */
  image: string;
  tag: string;
  /**
   * The pushed manifest digest (`sha256:…`), written next to newTag when the deploy target pins
   * digests. Without it, an entry that still pins a digest is an error: kustomize renders
   * `name:tag@digest`, so the digest would keep the old image running.
   */
  digest?: string;
  /** Other names the entry may carry for the same image, e.g. the service's `deployImageName`. */
  aliases?: readonly string[];
  /** Add an entry when none matches. Off by default: an unmatched bump deploys nothing. */
  create?: boolean;
}

/**
 * How an `images[]` entry was found without a render: its `name` is the image (and it sets no
 * other newName), or its `newName` is. A name without the registry host is not a match: kustomize
 * compares names exactly as written (finding 1 of issue 20).
 */
export type ImageMatch = 'name' | 'newName';

export interface ImageTagEdit {
  /** The new file text (identical to the input when nothing changed). */
  text: string;
  changed: boolean;
  /** The entry that was edited or created. */
  entry: { index: number; name: string; newName?: string; matchedBy: ImageMatch | 'created' };
  /** newTag and digest before the edit, when there were any. */
  previous: { tag?: string; digest?: string };
  /** An `images[]` entry (or the list itself) had to be created (only with `create`). */
  created: boolean;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Pure: sets newTag (and, when pinning, digest) of the `images[]` entry that deploys `image`.
 *
 * The entry is found the way kustomize applies it: by `name` (the full name or the name without
 * registry host, since the base may name the container either way) or by `newName` (the entry
 * rewrites some other name into our image). Nothing matching is an error listing the entries the
 * file has, unless `create` is set: a bump that edits nothing would deploy nothing and pass.
 *
 * Scalars that exist are replaced byte for byte (located through the yaml Document's source
 * ranges), so comments, quoting, indentation and blank lines are untouched by construction.
 * Adding a key or an entry is a structural edit through the Document API, which keeps comments.
 */
export function setImageTag(text: string, request: ImageEditRequest, file = 'kustomization.yaml'): ImageTagEdit {
  const { image, tag, digest } = request;
  assertEditRequest(request);
  const { entries } = parseKustomization(text, file);
  const names = [image, ...(request.aliases ?? [])];
  const matches = matchImageEntries(entries, names);
  assertUnambiguous(matches, image, file);

  const match = matches[0];
  if (!match) {
    if (!request.create) throw new ImageNotFoundError(file, image, names, entries.map(describeEntry));
    return {
      ...appendImageEntry(text, { name: image, newTag: tag, digest }, file),
      entry: { index: entries.length, name: image, matchedBy: 'created' },
    };
  }

  const { entry, index, matchedBy } = match;
  const previous = { tag: scalarText(entry.get('newTag', true)), digest: scalarText(entry.get('digest', true)) };
  const where = { index, name: String(entry.get('name')), newName: scalarText(entry.get('newName', true)), matchedBy };
  if (digest === undefined && previous.digest !== undefined) throw new StaleDigestError(file, index, where.name, previous.digest);

  // An unquoted numeric newTag is not "current": kustomize would read a number, not a tag.
  const pending = Object.entries({ newTag: tag, digest }).filter(([key, value]) => {
    const node = entry.get(key, true);
    return value !== undefined && !(isScalar(node) && node.value === value);
  });
  if (pending.length === 0) return { text, changed: false, entry: where, previous, created: false };

  return { text: editEntryInPlace(text, entry, index, Object.fromEntries(pending), file), changed: true, entry: where, previous, created: false };
}

/** Pure: the image, tag and digest of a bump are what a kustomization can carry; else a ManifestError naming the value. */
export function assertEditRequest(request: Pick<ImageEditRequest, 'image' | 'tag' | 'digest'>): void {
  const { image, tag, digest } = request;
  if (!isValidDockerTag(tag)) throw new ManifestError(`--tag ${JSON.stringify(tag)} is not a valid image tag`);
  if (!/^[^\s#@:/]+(?::\d+)?(?:\/[^\s#@:/]+)*$/.test(image)) throw new ManifestError(`--image ${JSON.stringify(image)} is not an image name (no tag, no digest)`);
  if (digest !== undefined && !DIGEST.test(digest)) throw new ManifestError(`--digest ${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 hex>)`);
}

/** Every entry that kustomize would apply to a container named one of `names`. */
function matchImageEntries(entries: readonly unknown[], names: readonly string[]): Array<{ entry: YAMLMap; index: number; matchedBy: ImageMatch }> {
  return entries.flatMap((e, index) => {
    const matchedBy = isMap(e) ? matchEntry(e, names) : undefined;
    return matchedBy ? [{ entry: e as YAMLMap, index, matchedBy }] : [];
  });
}

function assertUnambiguous(matches: ReadonlyArray<{ index: number; matchedBy: ImageMatch }>, image: string, file: string): void {
  if (matches.length <= 1) return;
  const at = matches.map((m) => `images[${m.index}] (by ${m.matchedBy})`).join(', ');
  throw new ManifestError(`${file}: image ${image} is ambiguous: ${at} all match; keep one entry per image`);
}

function matchEntry(entry: YAMLMap, names: readonly string[]): ImageMatch | undefined {
  const name = entry.get('name');
  const newName = entry.get('newName');
  if (typeof newName === 'string') return names.includes(newName) ? 'newName' : undefined;
  if (typeof name === 'string' && names.includes(name)) return 'name';
  return undefined;
}

function describeEntry(entry: unknown, index: number): string {
  if (!isMap(entry)) return `images[${index}]: not a mapping`;
  const fields = ['name', 'newName', 'newTag', 'digest'].flatMap((k) => {
    const v = scalarText(entry.get(k, true));
    return v === undefined ? [] : [`${k}=${v}`];
  });
  return `images[${index}]: ${fields.join(' ') || '(empty)'}`;
}

/** No `images[]` entry deploys the image: editing nothing would deploy nothing. */
export class ImageNotFoundError extends ManifestError {
  constructor(
    readonly file: string,
    readonly image: string,
    readonly compared: readonly string[],
    readonly entries: readonly string[],
  ) {
    super(
      `${file}: no images[] entry deploys ${image} (compared name and newName with ${compared.join(', ')}, exactly as kustomize does).\n` +
        (entries.length > 0 ? `The file has:\n${entries.map((e) => `  ${e}`).join('\n')}\n` : 'The file has no images[] entries.\n') +
        "Fix the entry's name or the service's deployImageName, or pass --create to add an entry (it only takes effect if a container uses that name).",
    );
  }
}

/** The entry pins a digest, which kustomize applies over newTag: bumping the tag alone changes nothing. */
export class StaleDigestError extends ManifestError {
  constructor(
    readonly file: string,
    readonly index: number,
    readonly entryName: string,
    readonly digest: string,
  ) {
    super(
      `${file}: images[${index}] (${entryName}) pins digest ${digest}, which kustomize renders over any newTag, so this bump would deploy nothing. ` +
        'Remove the digest from the overlay, or set pinDigest: true on the deploy target so engex-ci writes newTag and digest together.',
    );
  }
}
