import { parseAllDocuments } from 'yaml';
import { ManifestError } from './errors.js';

/**
 * Kustomize's images transformer, as pure functions over rendered manifests, so `deploy bump` can
 * choose which `images[]` entry to edit the way kustomize will apply it. The render stays the
 * proof: the bump renders again after editing and compares (deploy-bump.ts).
 */

/** One `image:` of a container in a rendered manifest. */
export interface ContainerImage {
  /** `Deployment/halow` (with `namespace/` when set): which resource. */
  resource: string;
  /** `spec.template.spec.initContainers[0]`: where in it. */
  path: string;
  /** The container's `name`, for messages. */
  container: string;
  image: string;
}

/** The `images[]` fields kustomize reads (api/types/image.go). */
export interface ImageEntryFields {
  name?: string;
  newName?: string;
  newTag?: string;
  digest?: string;
  tagSuffix?: string;
}

/**
 * kustomize's `image.IsImageMatched`: `name` is pasted into the regexp unquoted (so `.` matches
 * any character, as in kustomize), followed by an optional tag and an optional digest. The name
 * is compared as written, registry included: `engex/halow` does not match
 * `460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow:bootstrap`.
 */
export function isImageMatched(value: string, name: string): boolean {
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^${name}(:[a-zA-Z0-9_.{}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{}-]*)?$`);
  } catch {
    // kustomize treats a name that does not compile as matching nothing.
    return false;
  }
  return pattern.test(value);
}

/** kustomize's `image.Split`: name, tag and digest; a `:` in the registry host is not a tag. */
export function splitImage(ref: string): { name: string; tag: string; digest: string } {
  const slash = ref.indexOf('/');
  const offset = slash > 0 ? slash : 0;
  const search = ref.slice(offset);
  const at = search.indexOf('@');
  const colon = search.indexOf(':');
  if (colon < 0 && at < 0) return { name: ref, tag: '', digest: '' };
  if (at >= 0 && (at < colon || colon < 0)) return { name: ref.slice(0, offset + at), tag: '', digest: ref.slice(offset + at + 1) };
  if (at >= 0 && colon >= 0) return { name: ref.slice(0, offset + colon), tag: ref.slice(offset + colon + 1, offset + at), digest: ref.slice(offset + at + 1) };
  return { name: ref.slice(0, offset + colon), tag: ref.slice(offset + colon + 1), digest: '' };
}

/** kustomize's imageTagUpdater: what one entry makes of one image value (undefined when it does not match). */
export function applyImageEntry(value: string, entry: ImageEntryFields): string | undefined {
  if (entry.name === undefined || !isImageMatched(value, entry.name)) return undefined;
  let { name, tag, digest } = splitImage(value);
  if (entry.newName) name = entry.newName;
  // A new tag or digest replaces both the old tag and the old digest.
  if (entry.newTag && entry.digest) [tag, digest] = [entry.newTag, entry.digest];
  else if (entry.newTag) [tag, digest] = [entry.newTag, ''];
  else if (entry.digest) [tag, digest] = ['', entry.digest];
  else if (entry.tagSuffix) [tag, digest] = [tag + entry.tagSuffix, ''];
  return `${name}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
}

/**
 * Every entry applied in order, as kustomize runs one transformer per entry: a later entry sees
 * the name an earlier one wrote, which is how `newName` chains work. `last` is the index of the
 * last entry that matched: the one whose newTag decides the rendered tag.
 */
export function applyImageEntries(value: string, entries: readonly ImageEntryFields[]): { image: string; last?: number } {
  let image = value;
  let last: number | undefined;
  entries.forEach((entry, index) => {
    const next = applyImageEntry(image, entry);
    if (next !== undefined) [image, last] = [next, index];
  });
  return last === undefined ? { image } : { image, last };
}

/**
 * Every container image of a `kustomize build` output. Like kustomize's legacy images filter,
 * any `containers` or `initContainers` list at any depth counts (Pods, Deployments, CronJobs'
 * jobTemplate...), and CustomResourceDefinitions are skipped.
 */
export function readContainerImages(rendered: string): ContainerImage[] {
  const out: ContainerImage[] = [];
  for (const doc of parseAllDocuments(rendered)) {
    const value = doc.toJS({ maxAliasCount: -1 }) as unknown;
    if (!isRecord(value) || value['kind'] === 'CustomResourceDefinition') continue;
    const meta = isRecord(value['metadata']) ? value['metadata'] : {};
    const resource = `${typeof meta['namespace'] === 'string' ? `${meta['namespace']}/` : ''}${String(value['kind'])}/${String(meta['name'])}`;
    walk(value, '', (path, container) => out.push({ resource, path, container: String(container['name'] ?? '?'), image: container['image'] as string }));
  }
  return out;
}

function walk(node: unknown, path: string, found: (path: string, container: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => walk(item, `${path}[${i}]`, found));
    return;
  }
  if (!isRecord(node)) return;
  for (const [key, child] of Object.entries(node)) {
    const here = path ? `${path}.${key}` : key;
    walk(child, here, found);
    if ((key === 'containers' || key === 'initContainers') && Array.isArray(child)) {
      child.forEach((c, i) => {
        if (isRecord(c) && typeof c['image'] === 'string') found(`${here}[${i}]`, c);
      });
    }
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Docker reads the first path component as a registry host when it has a dot or a port, or is `localhost`. */
export function withoutRegistry(name: string): string {
  const slash = name.indexOf('/');
  if (slash < 0) return name;
  const first = name.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? name.slice(slash + 1) : name;
}

/**
 * Pure: is this container the service's? Its image names the service's repository, with any
 * registry or none: a short `engex/halow` is the service too (finding: it would be pulled from
 * Docker Hub), so the bump must make it render the ECR name, not skip it.
 */
export function isServiceImage(image: string, names: readonly string[]): boolean {
  const { name } = splitImage(image);
  return names.some((n) => n === name || withoutRegistry(n) === withoutRegistry(name));
}

/** What to set on one `images[]` entry. */
export interface EntryEdit {
  index: number;
  newTag: string;
  digest?: string;
  newName?: string;
}

export interface PlanImageEditsInput {
  /** The service's containers as the overlay's images transformer sees them (rendered without the overlay's `images`). */
  written: readonly ContainerImage[];
  entries: readonly ImageEntryFields[];
  /** The pushed repository, e.g. `<ECR host>/engex/halow`. */
  image: string;
  tag: string;
  digest?: string;
  file: string;
}

/**
 * Pure: the entry edits that make every one of `written` render `<image>:<tag>` (`@<digest>` when
 * pinning). For each container, the last entry of its chain gets the tag; when that entry leaves
 * another name (a short name would be pulled from Docker Hub), it gets `newName: <image>` too. An
 * entry that renames to some other repository, or a container no entry reaches, is refused with
 * the render's names, never guessed.
 */
export function planImageEdits(input: PlanImageEditsInput): EntryEdit[] {
  const { written, entries, image, tag, digest, file } = input;
  const want = `${image}:${tag}${digest ? `@${digest}` : ''}`;
  const edits = new Map<number, EntryEdit>();
  const unreached: ContainerImage[] = [];
  for (const c of written) {
    const { last } = applyImageEntries(c.image, entries);
    if (last === undefined) {
      unreached.push(c);
      continue;
    }
    const entry = entries[last]!;
    if (entry.digest && !digest)
      throw new ManifestError(
        `${file}: images[${last}] (${entry.name}) pins digest ${entry.digest}, which kustomize renders over any newTag, so this bump would deploy nothing. Remove the digest from the overlay, or set pinDigest: true on the deploy target so engex-ci writes newTag and digest together.`,
      );
    if (entry.newName && entry.newName !== image) {
      throw new ImageRenderMismatchError(
        file,
        image,
        `images[${last}] (${entry.name}) renames it to ${entry.newName}, not the pushed ${image}; fix newName in the overlay`,
        written,
      );
    }
    // The name the entry leaves when it sets no newName: what the chain made of it before.
    const before = splitImage(applyImageEntries(c.image, entries.slice(0, last)).image).name;
    edits.set(last, { index: last, newTag: tag, ...(digest ? { digest } : {}), ...(entry.newName === undefined && before !== image ? { newName: image } : {}) });
  }
  if (unreached.length > 0) throw new ImageNotReachedError(file, image, unreached, entries);
  // An added newName may let a later entry match again: check the whole chain with the edits.
  const edited = entries.map((e, i) => ({ ...e, ...edits.get(i) }));
  for (const c of written) {
    const result = applyImageEntries(c.image, edited).image;
    if (result !== want) throw new ImageRenderMismatchError(file, image, `after the edit, ${describe(c)} would still render ${result}`, written);
  }
  return [...edits.values()].sort((a, b) => a.index - b.index);
}

const describe = (c: ContainerImage): string => `${c.resource} ${c.path} (${c.container})`;

/** The render's names, one line each, for errors. */
export function listImages(images: readonly ContainerImage[]): string {
  return images.map((c) => `  ${describe(c)}: ${c.image}`).join('\n');
}

/** No `images[]` entry matches some container of the service, as kustomize matches names. */
export class ImageNotReachedError extends ManifestError {
  constructor(
    readonly file: string,
    readonly image: string,
    readonly unreached: readonly ContainerImage[],
    entries: readonly ImageEntryFields[],
  ) {
    super(
      `${file}: no images[] entry matches these containers of ${image}, as kustomize matches names (exactly as written, registry included):\n${listImages(unreached)}\n` +
        (entries.length > 0 ? `The entries: ${entries.map((e, i) => `images[${i}] name=${e.name ?? '(none)'}`).join(', ')}.\n` : 'The file has no images[] entries.\n') +
        'Name the entry exactly as the render writes the image (see above), or pass --create to add one.',
    );
  }
}

/** The render does not (or would not) show the service's containers at the new reference. */
export class ImageRenderMismatchError extends ManifestError {
  constructor(
    readonly file: string,
    readonly image: string,
    readonly why: string,
    readonly images: readonly ContainerImage[],
  ) {
    super(`${file}: cannot deploy ${image}: ${why}. Nothing was pushed. The render's containers of the service:\n${listImages(images)}`);
  }
}
