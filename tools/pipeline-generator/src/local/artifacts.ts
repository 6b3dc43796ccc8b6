import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { dirname, join, posix, relative } from 'node:path';
import picomatch from 'picomatch';

/**
 * Buildkite's `artifact_paths` globs, matched locally with picomatch (the glob implementation
 * the workspace already uses): `**` spans folders, `*` and `?` stay within one path segment, and
 * dot files match like any other.
 */
export function artifactMatcher(glob: string): (path: string) => boolean {
  const isMatch = picomatch(glob, { dot: true });
  // picomatch's matcher takes a second argument, so hand it to filter/map only wrapped.
  return (path) => isMatch(path);
}

/** The folder below which a glob can match: its segments before the first wildcard. */
export function globBase(glob: string): string {
  const scanned = picomatch.scan(glob);
  if (scanned.isGlob) return scanned.base;
  const dir = posix.dirname(glob);
  return dir === '.' ? '' : dir;
}

async function walk(root: string, dir: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(join(root, dir), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== '.git') await walk(root, rel, out);
    } else if (e.isFile()) out.push(rel);
  }
}

/** Copies the files `globs` match under `checkout` into `into`, keeping their relative paths. */
export async function collectArtifacts(checkout: string, globs: readonly string[], into: string): Promise<string[]> {
  const copied: string[] = [];
  for (const glob of globs) {
    const matches = artifactMatcher(glob);
    const files: string[] = [];
    await walk(checkout, globBase(glob), files);
    for (const file of files.filter(matches)) {
      const dest = join(into, file);
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(join(checkout, file), dest);
      copied.push(relative(checkout, join(checkout, file)));
    }
  }
  return copied;
}
