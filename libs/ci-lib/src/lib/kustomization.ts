import { KUSTOMIZATION_FILES } from '@engex/workspace-config';
import { Document, Scalar, YAMLMap, YAMLSeq, isAlias, isMap, isScalar, isSeq, parseAllDocuments, stringify, type ScalarTag, type Tags } from 'yaml';
import { ManifestError } from './errors.js';
import type { EntryEdit, ImageEntryFields } from './kustomize-images.js';
import { redact } from './redact.js';
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

/**
 * A kustomization above this size is refused before it is parsed: real ones are a few KiB, and
 * the YAML parser holds several copies of a file in memory (an 11 MB one took 8.6 s and 0.8 GB).
 */
export const MAX_KUSTOMIZATION_BYTES = 1 << 20;

/** The kustomization is larger than anything kustomize is meant to read here. */
export class KustomizationTooLargeError extends ManifestError {
  constructor(
    readonly file: string,
    readonly bytes: number,
  ) {
    super(
      `${file} is ${bytes} bytes; a kustomization may be at most ${MAX_KUSTOMIZATION_BYTES} bytes (1 MiB). Move generated content into resources, or check that the overlay path names the kustomization.`,
    );
  }
}
const KUSTOMIZE_API = /^kustomize\.config\.k8s\.io\/v\d+(?:(?:alpha|beta)\d+)?$/;
const LEGACY_KEYS = ['resources', 'bases', 'components', 'images', 'patches', 'patchesStrategicMerge'];

export { withoutRegistry } from './kustomize-images.js';

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
      ...appendImageEntry(text, { name: image, newTag: tag, ...(digest !== undefined ? { digest } : {}) }, file),
      entry: { index: entries.length, name: image, matchedBy: 'created' },
    };
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

  return { text: editEntryInPlace(text, entry, index, Object.fromEntries(pending), file), changed: true, entry: where, previous, created: false };
}

/**
 * Pure: a new `images[]` entry at the end (the list too, when there is none): a structural edit
 * through the Document API, which keeps comments. Only with --create, for an overlay that has no entry yet.
 */
export function appendImageEntry(
  text: string,
  fields: { name: string; newName?: string; newTag: string; digest?: string },
  file = 'kustomization.yaml',
): { text: string; changed: true; previous: Record<string, never>; created: true } {
  const { doc, root, images } = parseKustomization(text, file);
  const created = new YAMLMap();
  for (const key of ['name', 'newName', 'newTag', 'digest'] as const) if (fields[key] !== undefined) created.set(key, fields[key]);
  if (isSeq(images)) images.items.push(created);
  else {
    const list = new YAMLSeq();
    list.items.push(created);
    (root as YAMLMap).set('images', list);
  }
  return { text: render(doc, text), changed: true, previous: {}, created: true };
}

/** Pure: the image, tag and digest of a bump are what a kustomization can carry; else a ManifestError naming the value. */
export function assertEditRequest(request: Pick<ImageEditRequest, 'image' | 'tag' | 'digest'>): void {
  const { image, tag, digest } = request;
  if (!isValidDockerTag(tag)) throw new ManifestError(`--tag ${JSON.stringify(tag)} is not a valid image tag`);
  if (!/^[^\s#@:/]+(?::\d+)?(?:\/[^\s#@:/]+)*$/.test(image)) throw new ManifestError(`--image ${JSON.stringify(image)} is not an image name (no tag, no digest)`);
  if (digest !== undefined && !DIGEST.test(digest)) throw new ManifestError(`--digest ${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 hex>)`);
}

/** One parsed kustomization: the Document (for structural edits) and its `images[]` entries. */
function parseKustomization(text: string, file: string) {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_KUSTOMIZATION_BYTES) throw new KustomizationTooLargeError(file, bytes);
  // prettyErrors off: its message quotes the lines around the error, and a file that is not what
  // it should be (a symlink to credentials) must show no more than the one redacted line.
  const docs = parseAllDocuments(text, { keepSourceTokens: true, prettyErrors: false, customTags: keepNumberSource });
  if (!Array.isArray(docs)) throw new ManifestError(`${file} is empty; expected a kustomization`);
  if (docs.length !== 1) throw new ManifestError(`${file} holds ${docs.length} YAML documents; a kustomization is exactly one`);
  const doc = docs[0]!;
  if (doc.errors.length > 0) {
    // Only the first error: every further one would show more of a file that may hold secrets.
    const first = doc.errors[0]!;
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more error${doc.errors.length > 2 ? 's' : ''})` : '';
    throw new ManifestError(`${file} is not valid YAML${more}:\n  ${describeYamlError(text, first.message, first.pos[0])}`);
  }
  const root = doc.contents;
  if (!isMap(root)) throw new ManifestError(`${file} is not a kustomization: expected a mapping at the top level`);
  assertKustomization(root, file);
  const images = root.get('images', true);
  if (images !== undefined && !isSeq(images) && !(isScalar(images) && images.value === null)) {
    throw new ManifestError(`${file}: images must be a list of { name, newTag }`);
  }
  return { doc, root, images, entries: isSeq(images) ? images.items : [] };
}

/** `line 3, column 5: <message>` and the offending line, redacted and cut: never more of the file. */
function describeYamlError(text: string, message: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  const end = text.indexOf('\n', offset);
  const lineNo = text.slice(0, start).split('\n').length;
  const raw = text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '');
  const shown = redactLine(raw);
  // yaml quotes the offending token in its message (`Unexpected scalar token in YAML stream: "…"`): cut it.
  const what = (message.split('\n')[0] ?? '').replace(/:\s*["'].*$/, '');
  return `line ${lineNo}, column ${offset - start + 1}: ${what}\n    ${shown.length > 160 ? `${shown.slice(0, 157)}...` : shown}`;
}

/** One line of a file that may not be a kustomization: every `key: value` value is hidden, whatever the key. */
function redactLine(line: string): string {
  const hidden = line.replace(/^(\s*(?:-\s+)?[^:=#\s][^:=#]*(?::|\s*=)\s*)(\S.*)$/, '$1***');
  return redact(hidden);
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
  if (typeof newName === 'string') return names.includes(newName) ? 'newName' : undefined;
  if (typeof name === 'string' && names.includes(name)) return 'name';
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

/** A YAML alias or anchor where the bump must edit: the edit would silently change other places too. */
export class YamlAliasError extends ManifestError {
  constructor(
    readonly file: string,
    readonly where: string,
  ) {
    super(`${file}: ${where} is a YAML alias or anchor; engex-ci edits values in place and will not guess what else shares it. Write the value literally in that images[] entry.`);
  }
}

/** Pure: the `images[]` entries as kustomize reads them (for planImageEdits). Aliased entries are refused. */
export function readImageEntries(text: string, file = 'kustomization.yaml'): ImageEntryFields[] {
  const { doc, images, entries } = parseKustomization(text, file);
  if (isAlias(images)) throw new YamlAliasError(file, 'images');
  return entries.map((e, index) => {
    if (isAlias(e)) throw new YamlAliasError(file, `images[${index}]`);
    if (!isMap(e)) throw new ManifestError(`${file}: images[${index}] is not a mapping of name, newName, newTag, digest`);
    const out: ImageEntryFields = {};
    for (const key of ['name', 'newName', 'newTag', 'digest', 'tagSuffix'] as const) {
      const node = e.get(key, true);
      // The resolved value: kustomize reads through aliases, and so must the plan.
      const value = isAlias(node) ? scalarText(node.resolve(doc)) : scalarText(node);
      if (value !== undefined && value !== null) out[key] = String(value);
    }
    return out;
  });
}

/** Pure: `edits` applied to the file in place, every other byte (BOM, CRLF, comments, quoting) kept. */
export function applyEntryEdits(text: string, edits: readonly EntryEdit[], file = 'kustomization.yaml'): string {
  const { entries } = parseKustomization(text, file);
  // From the end of the file backwards, so earlier offsets stay valid.
  const ordered = [...edits].sort((a, b) => b.index - a.index);
  let out = text;
  for (const edit of ordered) {
    const entry = entries[edit.index];
    if (!isMap(entry)) throw new ManifestError(`${file}: images[${edit.index}] is not a mapping`);
    const set: Record<string, string> = {
      newTag: edit.newTag,
      ...(edit.digest !== undefined ? { digest: edit.digest } : {}),
      ...(edit.newName !== undefined ? { newName: edit.newName } : {}),
    };
    out = editEntryInPlace(out, entry, edit.index, set, file);
  }
  return out;
}

/** Pure: the file without its `images` (what the overlay's images transformer gets as input), for a render. */
export function withoutImages(text: string, file = 'kustomization.yaml'): string {
  const { doc, root } = parseKustomization(text, file);
  root.delete('images');
  return doc.toString({ lineWidth: 0 });
}

/**
 * Sets keys of one entry by splicing text: existing scalars are replaced within their source range
 * and missing keys are inserted as a line after the entry's last pair (or `, key: v` in a flow map).
 * Aliases and anchors are refused rather than re-printing the document.
 */
function editEntryInPlace(text: string, entry: YAMLMap, index: number, set: Record<string, string>, file: string): string {
  const splices: Array<{ at: number; end: number; insert: string }> = [];
  const missing: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(set)) {
    const node = entry.get(key, true);
    if (isAlias(node) || (isScalar(node) && node.anchor)) throw new YamlAliasError(file, `images[${index}].${key}`);
    if (node === undefined || (isScalar(node) && node.value === null && !node.range?.[1])) {
      missing.push([key, value]);
      continue;
    }
    if (!isScalar(node) || !node.range) throw new ManifestError(`${file}: images[${index}].${key} is not a plain value; write it as one line (${key}: <value>)`);
    const current = node.value;
    if (current === value) continue;
    splices.push({ at: node.range[0], end: node.range[1], insert: scalarSource(value, node) });
  }
  if (missing.length > 0) {
    const lastPair = entry.items[entry.items.length - 1];
    const keyNode = entry.items[0]?.key;
    const lastValue = lastPair?.value ?? lastPair?.key;
    if (!isScalar(lastValue) || !lastValue.range || !isScalar(keyNode) || !keyNode.range) {
      throw new ManifestError(`${file}: images[${index}] has no plain last value to add ${missing.map(([k]) => k).join(', ')} after; add the keys by hand once`);
    }
    const valueEnd = lastValue.range[1];
    if (entry.flow) {
      splices.push({ at: valueEnd, end: valueEnd, insert: missing.map(([k, v]) => `, ${k}: ${stringify(v).trimEnd()}`).join('') });
    } else {
      const lineStart = text.lastIndexOf('\n', keyNode.range[0] - 1) + 1;
      const indent = ' '.repeat(keyNode.range[0] - lineStart);
      let lineEnd = text.indexOf('\n', valueEnd);
      if (lineEnd < 0) lineEnd = text.length;
      const crlf = text[lineEnd - 1] === '\r';
      const at = crlf ? lineEnd - 1 : lineEnd;
      const eol = crlf ? '\r\n' : '\n';
      splices.push({ at, end: at, insert: missing.map(([k, v]) => `${eol}${indent}${k}: ${stringify(v).trimEnd()}`).join('') });
    }
  }
  let out = text;
  for (const s of splices.sort((a, b) => b.at - a.at)) out = out.slice(0, s.at) + s.insert + out.slice(s.end);
  return out;
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
