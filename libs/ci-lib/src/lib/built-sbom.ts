import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRecord, type ServiceConfig } from '@engex/workspace-config';
import { BuiltSbomError } from './errors.js';
import { SBOM_FILE } from './file-names.js';

/**
 * An SBOM `image sbom` wrote earlier, read without the CycloneDX library: `image build --built-sbom`
 * runs where node_modules is absent (the image job starts from the build job's artifacts, so it
 * skips the dependency restore). The bytes are baked as they are and the digest label is theirs.
 */
export interface BuiltSbom {
  /** Checkout-relative: `<service root>/dist/sbom.cdx.json`. */
  file: string;
  /** `sha256:<hex>` of the file's bytes. */
  digest: string;
  /** `name@version` of every npm package it lists, sorted (what `image sbom` reports). */
  packages: string[];
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * Reads `<bundle>/sbom.cdx.json` and checks it is CycloneDX JSON written for this service and
 * this commit (its `metadata.component`), so an SBOM left from another build never ships.
 */
export async function readBuiltSbom(options: { root: string; service: Pick<ServiceConfig, 'project' | 'service' | 'bundle'>; sha: string }): Promise<BuiltSbom> {
  const { root, service, sha } = options;
  const file = `${service.bundle}/${SBOM_FILE}`;
  const fail = (problem: string): never => {
    throw new BuiltSbomError(file, problem, service.project);
  };
  let text = '';
  try {
    text = await readFile(join(root, file), 'utf8');
  } catch {
    fail('not found');
  }
  let bom: unknown;
  try {
    bom = JSON.parse(text);
  } catch (e) {
    fail(`not JSON (${(e as Error).message})`);
  }
  const record = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
  const doc = record(bom);
  if (doc['bomFormat'] !== 'CycloneDX') fail(`bomFormat is ${JSON.stringify(doc['bomFormat'])}, expected "CycloneDX"`);
  const component = record(record(doc['metadata'])['component']);
  if (component['name'] !== service.service) fail(`metadata.component.name is ${JSON.stringify(component['name'])}, expected ${JSON.stringify(service.service)}`);
  if (component['version'] !== sha) fail(`metadata.component.version is ${JSON.stringify(component['version'])}, expected this commit ${sha}`);
  const components = Array.isArray(doc['components']) ? doc['components'] : [];
  const packages = components
    .map((c) => record(c)['purl'])
    .filter((p): p is string => typeof p === 'string' && p.startsWith('pkg:npm/'))
    .map((p) => decodeURIComponent(p.slice('pkg:npm/'.length)))
    .sort();
  return { file, digest: sha256(text), packages };
}
