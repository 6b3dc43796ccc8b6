import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

/**
 * Buildkite's `artifact_paths` globs, matched locally: `**` spans folders, `*` and `?` stay within
 * one path segment. Pure.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** The folder below which a glob can match: its segments before the first wildcard. */
export function globBase(glob: string): string {
  const segments = glob.split('/');
  const fixed: string[] = [];
  for (const s of segments.slice(0, -1)) {
    if (/[*?[]/.test(s)) break;
    fixed.push(s);
  }
  return fixed.join('/');
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
    const re = globToRegExp(glob);
    const files: string[] = [];
    await walk(checkout, globBase(glob), files);
    for (const file of files.filter((f) => re.test(f))) {
      const dest = join(into, file);
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(join(checkout, file), dest);
      copied.push(relative(checkout, join(checkout, file)));
    }
  }
  return copied;
}
