import { createHash } from 'node:crypto';

/** Buildkite's key rule minus `$`, `{` and `}` (they would invite interpolation). */
const KEY_CHARS = /[^a-zA-Z0-9_.:-]+/g;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Room left for the longest suffix (`:` + target or step name) under Buildkite's 100 characters. */
const SLUG_MAX = 60;
const PART_MAX = 30;

function hash8(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

function clean(text: string): string {
  return text
    .replace(KEY_CHARS, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.:]+|[-.:]+$/g, '');
}

/**
 * A key-safe slug for every project, unique across the workspace and distinct from `reserved`
 * (keys the pipeline uses for itself). `@engex/halow` becomes
 * `engex-halow`; a name that had to be shortened, or that collides with another, gets a short
 * hash of the full name so keys stay stable between runs.
 */
export function projectSlugs(names: readonly string[], reserved: readonly string[] = []): Map<string, string> {
  const base = new Map<string, string>();
  const count = new Map<string, number>(reserved.map((r) => [r.toLowerCase(), 1]));
  for (const name of names) {
    let slug = clean(name) || 'project';
    if (slug.length > SLUG_MAX || UUID.test(slug)) slug = `${slug.slice(0, SLUG_MAX - 9)}-${hash8(name)}`;
    base.set(name, slug);
    count.set(slug.toLowerCase(), (count.get(slug.toLowerCase()) ?? 0) + 1);
  }
  const out = new Map<string, string>();
  for (const [name, slug] of base) {
    const collides = (count.get(slug.toLowerCase()) ?? 0) > 1;
    out.set(name, collides ? `${slug.slice(0, SLUG_MAX - 9)}-${hash8(name)}` : slug);
  }
  return out;
}

/** A key part for a target or step name (`test`, `test:e2e`, `image`). */
export function keyPart(text: string): string {
  const part = clean(text) || 'step';
  return part.length > PART_MAX ? `${part.slice(0, PART_MAX - 9)}-${hash8(text)}` : part;
}

export function isValidKey(key: string): boolean {
  return key.length > 0 && key.length <= 100 && /^[a-zA-Z0-9_\-:.]+$/.test(key) && !UUID.test(key);
}
