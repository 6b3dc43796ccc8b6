import { KUSTOMIZATION_FILES } from '@engex/workspace-config';
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Scalar, type ScalarTag, type Tags, type YAMLMap } from 'yaml';
import { ManifestError } from './errors.js';
import type { ImageEntryFields } from './kustomize-images.js';
import { redact } from './redact.js';

// Reading a kustomization: which file it is, the size and shape checks, and the parse every
// reader and editor shares (kustomization.ts finds entries by image, kustomization-splice.ts edits).

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

/** One parsed kustomization: the Document (for structural edits) and its `images[]` entries. */
export function parseKustomization(text: string, file: string) {
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

/** A scalar's text as written (a number keeps its source), or undefined for none or null. */
export function scalarText(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null) return undefined;
  return typeof node.value === 'string' ? node.value : (node.source ?? String(node.value));
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
