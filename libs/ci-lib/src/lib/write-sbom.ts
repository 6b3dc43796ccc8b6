import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServiceConfig } from '@engex/workspace-config';
import { SbomInputError } from './errors.js';
import { BUNDLE_FILE } from './file-names.js';
import { METAFILE, SBOM_FILE, planSbom, validateSbom, type Sbom } from './sbom.js';

export interface WriteSbomOptions {
  /** Absolute workspace root (holds package-lock.json). */
  root: string;
  service: Pick<ServiceConfig, 'project' | 'service' | 'bundle'>;
  sha: string;
  timestamp: Date;
}

/** I/O around planSbom: reads `<bundle>/meta.json` and the lockfile, validates, writes `<bundle>/sbom.cdx.json`. */
export async function writeSbom(options: WriteSbomOptions): Promise<Sbom & { file: string }> {
  const { root, service } = options;
  const metafile = await readJson(
    join(root, service.bundle, METAFILE),
    `${service.bundle}/${METAFILE}`,
    `build the bundle with metafile: true: npx nx run ${service.project}:build`,
  );
  const lockfile = await readJson(join(root, 'package-lock.json'), 'package-lock.json', 'run npm install at the workspace root and commit package-lock.json');
  const sbom = planSbom({ metafile, lockfile, bundle: `${service.bundle}/${BUNDLE_FILE}`, service, sha: options.sha, timestamp: options.timestamp });
  await validateSbom(sbom.json);
  const file = `${service.bundle}/${SBOM_FILE}`;
  await writeFile(join(root, file), sbom.json);
  return { ...sbom, file };
}

async function readJson(path: string, name: string, fix: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new SbomInputError([`${name}: not found; ${fix}`]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new SbomInputError([`${name}: not JSON (${(e as Error).message})`]);
  }
}
