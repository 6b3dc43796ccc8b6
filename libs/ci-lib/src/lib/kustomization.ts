import { Document, Scalar, YAMLMap, YAMLSeq, isMap, isScalar, isSeq, parseAllDocuments, stringify, type ScalarTag, type Tags } from 'yaml';
import { ManifestError } from './errors.js';
import { isValidDockerTag } from './tags.js';

export interface ImageTagEdit {
  /** The new file text (identical to the input when nothing changed). */
  text: string;
  changed: boolean;
  /** newTag before the edit, when there was one. */
  previousTag?: string;
  /** An `images[]` entry (or the list itself) had to be created. */
  created: boolean;
}

const KUSTOMIZE_API = /^kustomize\.config\.k8s\.io\/v\d+(?:(?:alpha|beta)\d+)?$/;
const LEGACY_KEYS = ['resources', 'bases', 'components', 'images', 'patches', 'patchesStrategicMerge'];

/**
 * Pure: sets `images[name=<image>].newTag` in a kustomization.yaml.
 *
 * When the entry already has a `newTag`, only that scalar's bytes are replaced (located through
 * the yaml Document's source ranges), so comments, quoting, indentation and blank lines are
 * untouched by construction. Creating an entry or removing a `digest` (which kustomize prefers
 * over newTag, so leaving it would silently pin the old image) are structural edits done through
 * the Document API, which keeps comments.
 */
export function setImageTag(text: string, image: string, tag: string, file = 'kustomization.yaml'): ImageTagEdit {
  if (!isValidDockerTag(tag)) throw new ManifestError(`--tag ${JSON.stringify(tag)} is not a valid image tag`);
  if (!/^[^\s#]+$/.test(image)) throw new ManifestError(`--image ${JSON.stringify(image)} is not an image name`);
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
  const entries = isSeq(images) ? images.items : [];
  const byName = entries.filter((e): e is YAMLMap => isMap(e) && e.get('name') === image);
  const byNewName = byName.length === 0 ? entries.filter((e): e is YAMLMap => isMap(e) && e.get('newName') === image) : [];
  const matches = byName.length > 0 ? byName : byNewName;
  if (matches.length > 1) {
    const at = matches.map((m) => `images[${entries.indexOf(m)}]`).join(', ');
    throw new ManifestError(`${file}: image ${image} is ambiguous: ${at} all match by ${byName.length > 0 ? 'name' : 'newName'}; keep one entry per image`);
  }

  const entry = matches[0];
  if (entry) {
    const current = entry.get('newTag', true);
    const previousTag = isScalar(current) && current.value !== null ? (typeof current.value === 'string' ? current.value : (current.source ?? String(current.value))) : undefined;
    const hasDigest = entry.has('digest');
    // An unquoted numeric newTag is not "current": kustomize would read a number, not a tag.
    const isCurrent = isScalar(current) && current.value === tag;
    if (isCurrent && !hasDigest) return { text, changed: false, previousTag: tag, created: false };
    if (isScalar(current) && current.range && !hasDigest) {
      const [start, end] = current.range;
      const replacement = scalarSource(tag, current);
      return { text: text.slice(0, start) + replacement + text.slice(end), changed: true, ...(previousTag ? { previousTag } : {}), created: false };
    }
    entry.delete('digest');
    entry.set('newTag', new Scalar(tag));
    return { text: render(doc, text), changed: true, ...(previousTag ? { previousTag } : {}), created: false };
  }

  const created = new YAMLMap();
  created.set('name', image);
  created.set('newTag', tag);
  if (isSeq(images)) images.items.push(created);
  else {
    const list = new YAMLSeq();
    list.items.push(created);
    (root as YAMLMap).set('images', list);
  }
  return { text: render(doc, text), changed: true, created: true };
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
    if (typeof tag !== 'object' || 'collection' in tag && tag.collection) return tag;
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

/** Keeps the old scalar's quoting; plain style is quoted only if YAML would read the tag as non-string. */
function scalarSource(tag: string, old: Scalar): string {
  if (old.type === 'QUOTE_DOUBLE') return `"${tag}"`;
  if (old.type === 'QUOTE_SINGLE') return `'${tag}'`;
  return stringify(tag).trimEnd();
}

/** Re-prints after a structural edit, keeping the file's own sequence indentation style. */
function render(doc: Document.Parsed, original: string): string {
  const flushSeq = /^([ \t]*)[^\s#][^\n]*:[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*\1- /m.test(original);
  return doc.toString({ lineWidth: 0, indentSeq: !flushSeq });
}

/** The file names kustomize accepts for a kustomization, in its own order of preference. */
export const KUSTOMIZATION_FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

export interface ImageEntry {
  /** `images[i]` index, for messages. */
  index: number;
  newTag?: string;
  digest?: string;
}

/**
 * Pure: the `images[]` entry `setImageTag` would edit for `image` (by `name`, else by `newName`),
 * read without changing anything. Undefined when no entry matches; ambiguous or invalid files throw
 * the same ManifestError the bump would.
 */
export function readImageEntry(text: string, image: string, file = 'kustomization.yaml'): ImageEntry | undefined {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  if (!Array.isArray(docs) || docs.length !== 1) throw new ManifestError(`${file} is not one YAML document; a kustomization is exactly one`);
  const doc = docs[0]!;
  if (doc.errors.length > 0) throw new ManifestError(`${file} is not valid YAML:\n${doc.errors.map((e) => `  ${e.message}`).join('\n')}`);
  const root = doc.contents;
  if (!isMap(root)) throw new ManifestError(`${file} is not a kustomization: expected a mapping at the top level`);
  assertKustomization(root, file);
  const images = root.get('images', true);
  const entries = isSeq(images) ? images.items : [];
  const byName = entries.filter((e): e is YAMLMap => isMap(e) && e.get('name') === image);
  const matches = byName.length > 0 ? byName : entries.filter((e): e is YAMLMap => isMap(e) && e.get('newName') === image);
  if (matches.length > 1) throw new ManifestError(`${file}: image ${image} is ambiguous: ${matches.map((m) => `images[${entries.indexOf(m)}]`).join(', ')} all match`);
  const entry = matches[0];
  if (!entry) return undefined;
  const scalar = (key: string): string | undefined => {
    const node = entry.get(key, true);
    return isScalar(node) && node.value !== null ? (typeof node.value === 'string' ? node.value : (node.source ?? String(node.value))) : undefined;
  };
  const newTag = scalar('newTag');
  const digest = scalar('digest');
  return { index: entries.indexOf(entry), ...(newTag !== undefined ? { newTag } : {}), ...(digest !== undefined ? { digest } : {}) };
}
