import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The import rules of the package README's module map, checked on the source itself. */

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  return readdirSync(join(PACKAGE, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(PACKAGE, join(e.parentPath, e.name)).split('\\').join('/'))
    .sort();
}

/** Module specifiers of static imports, re-exports and dynamic imports. */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    out.push((m[1] ?? m[2] ?? m[3]) as string);
  }
  return out;
}

const production = (file: string): boolean => !file.endsWith('.spec.ts');
const core = sources('src/core').filter(production);

describe('module boundaries', () => {
  it('finds the imports the rules are checked on', () => {
    expect(importsOf(`import { a } from 'x';\nimport type {\n  B,\n} from "./y.js";\nexport { c } from '../z.js';\nimport 'side';\nconst m = await import('dyn');`)).toEqual([
      'x',
      './y.js',
      '../z.js',
      'side',
      'dyn',
    ]);
    expect(core.length).toBeGreaterThan(10);
  });

  it.each(core)('core stays pure: %s imports no I/O, Nx, io/ or local/', (file) => {
    const text = readFileSync(join(PACKAGE, file), 'utf8');
    const bad = importsOf(text).filter((spec) => {
      if (/^(node:)?(fs|fs\/promises|child_process|http|https|net|os|process)$/.test(spec)) return true;
      if (spec === 'nx' || spec.startsWith('nx/') || spec.startsWith('@nx/')) return true;
      if (spec.startsWith('.')) {
        const target = posix.join(posix.dirname(file), spec);
        return !target.startsWith('src/core/');
      }
      return false;
    });
    expect(bad).toEqual([]);
    // Time and environment arrive as arguments.
    expect(text.match(/\bprocess\.\w+/g) ?? []).toEqual([]);
  });

  it('io never imports local/ or the CLI', () => {
    const bad = sources('src/io')
      .filter(production)
      .flatMap((file) =>
        importsOf(readFileSync(join(PACKAGE, file), 'utf8'))
          .filter((s) => s.startsWith('.') && !posix.join(posix.dirname(file), s).startsWith('src/core/') && !posix.join(posix.dirname(file), s).startsWith('src/io/'))
          .map((s) => `${file}: ${s}`),
      );
    expect(bad).toEqual([]);
  });

  it('only the Nx adapter (io/nx-adapter.ts, io/nx-task-graph.ts) imports private nx/src modules, types included', () => {
    const offenders = [...sources('src'), ...sources('test')]
      .filter((file) => file !== 'src/io/nx-adapter.ts' && file !== 'src/io/nx-task-graph.ts')
      .flatMap((file) =>
        importsOf(readFileSync(join(PACKAGE, file), 'utf8'))
          .filter((s) => s.startsWith('nx/'))
          .map((s) => `${file}: ${s}`),
      );
    expect(offenders).toEqual([]);
  });

  it('core has no import cycle', () => {
    const edges = new Map(
      core.map((file) => [
        file,
        importsOf(readFileSync(join(PACKAGE, file), 'utf8'))
          .filter((s) => s.startsWith('.'))
          .map((s) => posix.join(posix.dirname(file), s).replace(/\.js$/, '.ts')),
      ]),
    );
    const cycles: string[] = [];
    const state = new Map<string, 1 | 2>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 2) return;
      if (state.get(file) === 1) {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 1);
      for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 2);
    };
    for (const file of core) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
