import { copyFile, mkdir, readFile, readdir, stat, writeFile, appendFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { artifactMatcher, collectArtifacts } from './artifacts.js';

/**
 * The build-wide state Buildkite keeps for a build, as files in the run folder: meta-data (one
 * file per key), artifacts (per uploading step), annotations (one file per context) and
 * pipeline uploads. The local `buildkite-agent` and the runner's artifact upload both use it.
 */

export const STORE = { metaData: 'meta-data', artifacts: 'artifacts', annotations: 'annotations', uploads: 'uploads' } as const;

const safe = (name: string): string => encodeURIComponent(name).replace(/\./g, '%2E');

export class AgentStore {
  constructor(readonly dir: string) {}

  private metaFile(key: string): string {
    return join(this.dir, STORE.metaData, `${safe(key)}.txt`);
  }

  async setMetaData(key: string, value: string): Promise<void> {
    await mkdir(join(this.dir, STORE.metaData), { recursive: true });
    await writeFile(this.metaFile(key), value);
  }

  async getMetaData(key: string): Promise<string | undefined> {
    return readFile(this.metaFile(key), 'utf8').catch(() => undefined);
  }

  /** Copies what `globs` match in `checkout` into the step's artifacts; the checkout-relative paths uploaded. */
  async uploadArtifacts(step: string, checkout: string, globs: readonly string[]): Promise<string[]> {
    return collectArtifacts(checkout, globs, join(this.dir, STORE.artifacts, safe(step)));
  }

  /**
   * Downloads the artifacts whose path matches `query` (a path or a glob) into `destination`
   * (keeping their paths), from `step` or, without it, from every step (a later upload wins).
   */
  async downloadArtifacts(query: string, destination: string, step?: string): Promise<string[]> {
    const root = join(this.dir, STORE.artifacts);
    const steps = step !== undefined ? [safe(step)] : await readdir(root).catch(() => [] as string[]);
    const matches = artifactMatcher(query);
    const found = new Map<string, string>();
    for (const s of steps) {
      for (const file of await listFiles(join(root, s))) if (matches(file)) found.set(file, join(root, s, file));
    }
    for (const [file, from] of found) {
      const to = join(destination, file);
      await mkdir(dirname(to), { recursive: true });
      await copyFile(from, to);
    }
    return [...found.keys()];
  }

  /** Writes (or appends to) the annotation of `context`; the file. */
  async annotate(context: string, style: string, body: string, append: boolean): Promise<string> {
    const file = join(this.dir, STORE.annotations, `${context.replace(/[^A-Za-z0-9._-]/g, '_')}.md`);
    await mkdir(dirname(file), { recursive: true });
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (append && exists) await appendFile(file, body);
    else await writeFile(file, `<!-- style: ${style} -->\n${body}`);
    return file;
  }

  /** Keeps an uploaded pipeline (the local run does not run uploads it did not plan); its file. */
  async recordUpload(text: string): Promise<string> {
    const dir = join(this.dir, STORE.uploads);
    await mkdir(dir, { recursive: true });
    const n = (await readdir(dir)).length + 1;
    const file = join(dir, `${String(n).padStart(3, '0')}.yml`);
    await writeFile(file, text);
    return file;
  }
}

async function listFiles(root: string, dir = ''): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}
