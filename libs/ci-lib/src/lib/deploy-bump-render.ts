import { writeFile } from 'node:fs/promises';
import { readImageEntries } from './kustomization-file.js';
import type { ImageEditRequest } from './kustomization.js';
import { appendImageEntry, applyEntryEdits, withoutImages } from './kustomization-splice.js';
import { ImageNotReachedError, ImageRenderMismatchError, isServiceImage, planImageEdits, splitImage, type ContainerImage } from './kustomize-images.js';

/** A container of a render, by its resource and path (its image is what changes). */
export const containerKey = (c: ContainerImage): string => `${c.resource} ${c.path}`;

/** The edit planFromRender decided, with the render it started from. */
export interface RenderedEdit {
  text: string;
  /** The tag the service's containers run now (for the rollback guard). */
  current: string | undefined;
  created: boolean;
  /** The render as committed. */
  before: ContainerImage[];
  /** The service's containers, by containerKey. */
  keys: Set<string>;
}

/**
 * The edit, decided from kustomize's own output: the render picks the service's containers and
 * what they run now; a render without the overlay's `images` gives each image's name as the
 * overlay's images transformer sees it, and planImageEdits follows kustomize's matching from there.
 */
export async function planFromRender(
  text: string,
  path: string,
  file: string,
  render: (label: string) => Promise<ContainerImage[]>,
  o: { names: readonly string[]; want: string; request: ImageEditRequest },
): Promise<RenderedEdit> {
  const entries = readImageEntries(text, path);
  const before = await render('as committed');
  await writeFile(file, withoutImages(text, path));
  let written: ContainerImage[];
  try {
    written = await render('without its images');
  } finally {
    await writeFile(file, text);
  }
  const writtenByKey = new Map(written.map((c) => [containerKey(c), c]));
  const service = before.filter((c) => isServiceImage(c.image, o.names) || isServiceImage(writtenByKey.get(containerKey(c))?.image ?? '', o.names));
  if (service.length === 0) {
    throw new ImageRenderMismatchError(path, o.request.image, 'no container of the rendered overlay runs it (compared the repository with and without registry host)', before);
  }
  const keys = new Set(service.map(containerKey));
  // What runs now, for the rollback guard: the first container's tag (containers sort before
  // initContainers in kustomize's output), so containers that disagree never skip the guard.
  const current = service.map((c) => splitImage(c.image).tag).find(Boolean);
  if (service.every((c) => c.image === o.want)) return { text, current, created: false, before, keys };
  const inputs = service.map((c) => writtenByKey.get(containerKey(c)) ?? c);
  const { digest } = o.request;
  try {
    const edits = planImageEdits({ written: inputs, entries, image: o.request.image, tag: o.request.tag, digest, file: path });
    return { text: applyEntryEdits(text, edits, path), current, created: false, before, keys };
  } catch (error) {
    const names = [...new Set(inputs.map((c) => splitImage(c.image).name))];
    if (!(error instanceof ImageNotReachedError) || !o.request.create || names.length !== 1 || error.unreached.length !== inputs.length) throw error;
    const name = names[0]!;
    const created = appendImageEntry(text, { name, newName: name !== o.request.image ? o.request.image : undefined, newTag: o.request.tag, digest }, path);
    return { text: created.text, current, created: true, before, keys };
  }
}
