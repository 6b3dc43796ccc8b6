import { isAlias, isMap, isScalar, isSeq, stringify, YAMLMap, YAMLSeq, type Document, type Scalar } from 'yaml';
import { ManifestError } from './errors.js';
import { YamlAliasError, parseKustomization } from './kustomization-file.js';
import type { EntryEdit } from './kustomize-images.js';

// Editing a kustomization: existing scalars are replaced byte for byte within their source
// ranges, so every other byte (BOM, CRLF, comments, quoting) is kept; only a new entry is a
// structural edit through the Document API.

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

/** Pure: `edits` applied to the file in place, every other byte (BOM, CRLF, comments, quoting) kept. */
export function applyEntryEdits(text: string, edits: readonly EntryEdit[], file = 'kustomization.yaml'): string {
  const { entries } = parseKustomization(text, file);
  // From the end of the file backwards, so earlier offsets stay valid.
  const ordered = [...edits].sort((a, b) => b.index - a.index);
  let out = text;
  for (const edit of ordered) {
    const entry = entries[edit.index];
    if (!isMap(entry)) throw new ManifestError(`${file}: images[${edit.index}] is not a mapping`);
    out = editEntryInPlace(out, entry, edit.index, { newTag: edit.newTag, digest: edit.digest, newName: edit.newName }, file);
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
export function editEntryInPlace(text: string, entry: YAMLMap, index: number, set: Record<string, string | undefined>, file: string): string {
  const splices: Array<{ at: number; end: number; insert: string }> = [];
  const missing: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(set)) {
    // An undefined value is a key this edit leaves alone.
    if (value === undefined) continue;
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
