import { KUSTOMIZATION_FILES } from '@engex/workspace-config';
import { Document, Scalar, YAMLMap, YAMLSeq, isMap, isScalar, isSeq, parseAllDocuments, stringify, type ScalarTag, type Tags } from 'yaml';
import { ManifestError } from './errors.js';
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

/** How an `images[]` entry was found; kustomize itself compares `name` with the container image name. */
export type ImageMatch = 'name' | 'name-without-registry' | 'newName';

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

/** The file names kustomize accepts in a directory, in its own order (one list, shared with the config's overlay normalisation). */
export const KUSTOMIZATION_FILE_NAMES = KUSTOMIZATION_FILES;

/**
 * Pure: which of `entries` (a directory listing of `dir`) is the kustomization. Like kustomize,
 * two of them in one directory is an error rather than a silent pick.
 */
export function pickKustomizationFile(dir: string, entries: readonly string[]): string {
  const found = KUSTOMIZATION_FILE_NAMES.filter((name) => entries.includes(name));
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new ManifestError(`${dir} has no kustomization: expected one of ${KUSTOMIZATION_FILE_NAMES.join(', ')}; check deployTargets[].overlay`);
  }
  throw new ManifestError(`${dir} has ${found.length} kustomization files (${found.join(', ')}); kustomize refuses that too, keep one`);
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const KUSTOMIZE_API = /^kustomize\.config\.k8s\.io\/v\d+(?:(?:alpha|beta)\d+)?$/;
const LEGACY_KEYS = ['resources', 'bases', 'components', 'images', 'patches', 'patchesStrategicMerge'];

/**
 * The repository part of an image name without its registry host, as Docker reads references:
 * the first path component is a host when it has a dot or a port, or is `localhost`.
 */
export function withoutRegistry(name: string): string {
  const slash = name.indexOf('/');
  if (slash < 0) return name;
  const first = name.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? name.slice(slash + 1) : name;
}

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
  if (!isValidDockerTag(tag)) throw new ManifestError(`--tag ${JSON.stringify(tag)} is not a valid image tag`);
  if (!/^[^\s#@:/]+(?::\d+)?(?:\/[^\s#@:/]+)*$/.test(image)) throw new ManifestError(`--image ${JSON.stringify(image)} is not an image name (no tag, no digest)`);
  if (digest !== undefined && !DIGEST.test(digest)) throw new ManifestError(`--digest ${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 hex>)`);
  const { doc, root, images, entries } = parseKustomization(text, file);
  const names = [image, ...(request.aliases ?? [])];
  const matches = matchImageEntries(entries, names);
  assertUnambiguous(matches, image, file);

  const match = matches[0];
  if (!match) {
    if (!request.create) throw new ImageNotFoundError(file, image, names, entries.map(describeEntry));
    const created = new YAMLMap();
    created.set('name', image);
    created.set('newTag', tag);
    if (digest !== undefined) created.set('digest', digest);
    if (isSeq(images)) images.items.push(created);
    else {
      const list = new YAMLSeq();
      list.items.push(created);
      (root as YAMLMap).set('images', list);
    }
    return { text: render(doc, text), changed: true, entry: { index: entries.length, name: image, matchedBy: 'created' }, previous: {}, created: true };
  }

  const { entry, index, matchedBy } = match;
  const previous = { ...optional('tag', scalarText(entry.get('newTag', true))), ...optional('digest', scalarText(entry.get('digest', true))) };
  const where = { index, name: String(entry.get('name')), ...optional('newName', scalarText(entry.get('newName', true))), matchedBy };
  if (digest === undefined && previous.digest !== undefined) throw new StaleDigestError(file, index, where.name, previous.digest);

  const wanted: Array<[key: string, value: string]> = [['newTag', tag], ...(digest !== undefined ? [['digest', digest] as [string, string]] : [])];
  // An unquoted numeric newTag is not "current": kustomize would read a number, not a tag.
  const pending = wanted.filter(([key, value]) => {
    const node = entry.get(key, true);
    return !(isScalar(node) && node.value === value);
  });
  if (pending.length === 0) return { text, changed: false, entry: where, previous, created: false };

  const splices = pending.map(([key, value]) => ({ node: entry.get(key, true), value }));
  if (splices.every((s) => isScalar(s.node) && s.node.range)) {
    let out = text;
    for (const { node, value } of splices.sort((a, b) => (b.node as Scalar).range![0] - (a.node as Scalar).range![0])) {
      const [start, end] = (node as Scalar).range!;
      out = out.slice(0, start) + scalarSource(value, node as Scalar) + out.slice(end);
    }
    return { text: out, changed: true, entry: where, previous, created: false };
  }
  for (const [key, value] of pending) entry.set(key, new Scalar(value));
  return { text: render(doc, text), changed: true, entry: where, previous, created: false };
}

/** One parsed kustomization: the Document (for structural edits) and its `images[]` entries. */
function parseKustomization(text: string, file: string) {
  const docs = parseAllDocuments(text, { keepSourceTokens: true, prettyErrors: true, customTags: keepNumberSource });
  if (!Array.isArray(docs)) throw new ManifestError(`${file} is empty; expected a kustomization`);
  if (docs.length !== 1) throw new ManifestError(`${file} holds ${docs.length} YAML documents; a kustomization is exactly one`);
  const doc = docs[0]!;
  if (doc.errors.length > 0) throw new ManifestError(`${file} is not valid YAML:\n${doc.errors.map((e) => `  ${e.message}`).join('\n')}`);
  const root = doc.contents;
  if (!isMap(root)) throw new ManifestError(`${file} is not a kustomization: expected a mapping at the top level`);
  assertKustomization(root, file);
  const images = root.get('images', true);
  if (images !== undefined && !isSeq(images) && !(isScalar(images) && images.value === null)) {
    throw new ManifestError(`${file}: images must be a list of { name, newTag }`);
  }
  return { doc, root, images, entries: isSeq(images) ? images.items : [] };
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

export interface ImageEntry {
  /** `images[i]` index, for messages. */
  index: number;
  matchedBy: ImageMatch;
  newTag?: string;
  digest?: string;
}

/**
 * Pure: the `images[]` entry `setImageTag` would edit for `image`, read without changing
 * anything (what `engex-ci status` reports as deployed). Undefined when no entry matches;
 * ambiguous or invalid files throw the same ManifestError the bump would.
 */
export function readImageEntry(text: string, image: string, file = 'kustomization.yaml', aliases: readonly string[] = []): ImageEntry | undefined {
  const { entries } = parseKustomization(text, file);
  const matches = matchImageEntries(entries, [image, ...aliases]);
  assertUnambiguous(matches, image, file);
  const match = matches[0];
  if (!match) return undefined;
  const newTag = scalarText(match.entry.get('newTag', true));
  const digest = scalarText(match.entry.get('digest', true));
  return { index: match.index, matchedBy: match.matchedBy, ...optional('newTag', newTag), ...optional('digest', digest) };
}

function matchEntry(entry: YAMLMap, names: readonly string[]): ImageMatch | undefined {
  const name = entry.get('name');
  const newName = entry.get('newName');
  if (typeof name === 'string' && names.includes(name)) return 'name';
  if (typeof newName === 'string' && names.includes(newName)) return 'newName';
  if (typeof name === 'string' && names.some((n) => withoutRegistry(n) === name)) return 'name-without-registry';
  return undefined;
}

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null) return undefined;
  return typeof node.value === 'string' ? node.value : (node.source ?? String(node.value));
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
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
      `${file}: no images[] entry deploys ${image} (compared name, name without registry host, and newName with ${compared.join(', ')}).\n` +
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

function assertKustomization(root: YAMLMap, file: string): void {
  const kind = root.get('kind');
  const apiVersion = root.get('apiVersion');
  if (kind !== undefined && kind !== 'Kustomization') {
    throw new ManifestError(`${file} is not a kustomization: kind is ${JSON.stringify(kind)}, expected Kustomization`);
  }
  if (apiVersion !== undefined && (typeof apiVersion !== 'string' || !KUSTOMIZE_API.test(apiVersion))) {
    throw new ManifestError(`${file} is not a kustomization: apiVersion is ${JSON.stringify(apiVersion)}, expected kustomize.config.k8s.io/v1beta1`);
  }
  if (kind === undefined && apiVersion === undefined && !LEGACY_KEYS.some((k) => root.has(k))) {
    throw new ManifestError(`${file} is not a kustomization: no kind, apiVersion or any of ${LEGACY_KEYS.join(', ')}`);
  }
}

/**
 * yaml re-prints numbers from their value (`007` becomes `7`, `1.10` becomes `1.1`), which would
 * rewrite untouched lines during a structural edit; these tags print a parsed number's own
 * source whenever it still denotes the same value.
 */
function keepNumberSource(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag !== 'object' || ('collection' in tag && tag.collection)) return tag;
    const scalarTag = tag as ScalarTag;
    if (!['tag:yaml.org,2002:int', 'tag:yaml.org,2002:float'].includes(scalarTag.tag) || !scalarTag.stringify) return tag;
    const original = scalarTag.stringify;
    return {
      ...scalarTag,
      stringify(item, ctx, onComment, onChompKeep) {
        const node = item as Scalar;
        if (typeof node.source === 'string' && node.type === 'PLAIN') {
          const again = scalarTag.resolve(node.source, () => {}, {});
          if (String(isScalar(again) ? again.value : again) === String(node.value)) return node.source;
        }
        return original(item, ctx, onComment, onChompKeep);
      },
    } satisfies ScalarTag;
  });
}

/** Keeps the old scalar's quoting; plain style is quoted only if YAML would read the value as non-string. */
function scalarSource(value: string, old: Scalar): string {
  if (old.type === 'QUOTE_DOUBLE') return `"${value}"`;
  if (old.type === 'QUOTE_SINGLE') return `'${value}'`;
  return stringify(value).trimEnd();
}

/** Re-prints after a structural edit, keeping the file's own sequence indentation style. */
function render(doc: Document.Parsed, original: string): string {
  const flushSeq = /^([ \t]*)[^\s#][^\n]*:[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*\1- /m.test(original);
  return doc.toString({ lineWidth: 0, indentSeq: !flushSeq });
}
