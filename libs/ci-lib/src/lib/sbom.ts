import { sha256 } from './built-sbom.js';
import { Contrib, Enums, Models, Serialize, Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { PackageURL } from 'packageurl-js';
import parseSpdx from 'spdx-expression-parse';
import { SbomInputError, SbomInvalidError } from './errors.js';

export { SBOM_FILE } from './file-names.js';
/** The esbuild metafile the build writes beside the bundle (`metafile: true` in @nx/esbuild). */
export const METAFILE = 'meta.json';

export interface PlanSbomInputs {
  /** Parsed esbuild metafile (`dist/meta.json`). */
  metafile: unknown;
  /** Parsed package-lock.json (lockfileVersion 2 or 3). */
  lockfile: unknown;
  /** The metafile's output key of the bundle, e.g. `apps/halow/dist/main.cjs`. */
  bundle: string;
  service: { project: string; service: string };
  /** Full commit sha: the service component's version. */
  sha: string;
  /** BOM timestamp: SOURCE_DATE_EPOCH or the commit time, so equal inputs give equal bytes. */
  timestamp: Date;
}

export interface Sbom {
  /** Serialized CycloneDX 1.6 JSON, with a trailing newline. */
  json: string;
  /** `sha256:<hex>` of `json`: the image label value. */
  digest: string;
  /** `name@version` of every bundled npm package, sorted. */
  packages: string[];
}

interface LockEntry {
  version: string;
  integrity?: string;
  license?: string;
}

/**
 * Pure: the CycloneDX BOM of exactly the npm packages esbuild put into `bundle` (inputs with bytes
 * in that output; type-only imports and tree-shaken modules never appear), with the lockfile's
 * version, license and integrity. No serial number: a random one would make every build differ.
 */
export function planSbom(inputs: PlanSbomInputs): Sbom {
  const problems: string[] = [];
  const lockPaths = bundledPackagePaths(inputs.metafile, inputs.bundle, problems);
  const lock = readLockPackages(inputs.lockfile, problems);
  const entries: { name: string; entry: LockEntry }[] = [];
  for (const path of lockPaths) {
    const entry = lock.get(path);
    if (!entry) problems.push(`package-lock.json: packages["${path}"]: missing, but esbuild bundled files from it`);
    else entries.push({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), entry });
  }
  if (problems.length > 0) throw new SbomInputError(problems);

  const bom = new Models.Bom();
  bom.metadata.timestamp = inputs.timestamp;
  bom.metadata.component = new Models.Component(Enums.ComponentType.Application, inputs.service.service, {
    bomRef: inputs.service.project,
    version: inputs.sha,
  });
  // The factory needs an SPDX expression parser to tell `A OR B` (an expression) from a name.
  const licenses = new Contrib.License.Factories.LicenseFactory((text) => void parseSpdx(text));
  const seen = new Set<string>();
  for (const { name, entry } of entries) {
    const slash = name.indexOf('/');
    const [namespace, bare] = name.startsWith('@') && slash > 0 ? [name.slice(0, slash), name.slice(slash + 1)] : [undefined, name];
    const purl = new PackageURL('npm', namespace, bare, entry.version, undefined, undefined).toString();
    // Two lockfile paths can hold the same name@version (nested copies); the BOM lists it once.
    if (seen.has(purl)) continue;
    seen.add(purl);
    const component = new Models.Component(Enums.ComponentType.Library, bare, {
      ...(namespace ? { group: namespace } : {}),
      version: entry.version,
      bomRef: purl,
      purl,
    });
    if (entry.license) component.licenses.add(licenses.makeFromString(entry.license));
    const hash = integrityToHash(entry.integrity);
    if (hash) component.hashes.set(hash.algorithm, hash.content);
    bom.components.add(component);
    bom.metadata.component.dependencies.add(component.bomRef);
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  const json = `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
  return { json, digest: sha256(json), packages: [...seen].map((p) => decodeURIComponent(p.slice('pkg:npm/'.length))).sort() };
}

/** Validates against the CycloneDX 1.6 JSON schema (strict), with the library's own validator. */
export async function validateSbom(json: string): Promise<void> {
  const error = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(json);
  if (error !== null) throw new SbomInvalidError(error);
}

const SRI_ALGORITHMS: Record<string, Enums.HashAlgorithm> = {
  sha512: Enums.HashAlgorithm['SHA-512'],
  sha384: Enums.HashAlgorithm['SHA-384'],
  sha256: Enums.HashAlgorithm['SHA-256'],
  sha1: Enums.HashAlgorithm['SHA-1'],
};

/** npm's Subresource Integrity (`sha512-<base64>`) as a CycloneDX hash (hex content). */
export function integrityToHash(integrity: string | undefined): { algorithm: Enums.HashAlgorithm; content: string } | undefined {
  // An SRI value may list several hashes; the first one with a known algorithm is npm's own.
  for (const token of (integrity ?? '').split(/\s+/)) {
    const match = /^(sha512|sha384|sha256|sha1)-([A-Za-z0-9+/]+={0,2})$/.exec(token);
    if (match) return { algorithm: SRI_ALGORITHMS[match[1]!]!, content: Buffer.from(match[2]!, 'base64').toString('hex') };
  }
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Lockfile keys (`node_modules/a/node_modules/@s/b`) of the packages with bytes in `bundle`. */
function bundledPackagePaths(metafile: unknown, bundle: string, problems: string[]): string[] {
  const outputs = isRecord(metafile) ? metafile['outputs'] : undefined;
  if (!isRecord(outputs)) {
    problems.push('meta.json: outputs: expected an object (an esbuild metafile)');
    return [];
  }
  const output = outputs[bundle];
  if (!isRecord(output) || !isRecord(output['inputs'])) {
    problems.push(`meta.json: outputs["${bundle}"].inputs: missing; outputs are ${Object.keys(outputs).join(', ') || '(none)'}`);
    return [];
  }
  const paths = new Set<string>();
  for (const [file, info] of Object.entries(output['inputs'])) {
    if (!isRecord(info) || typeof info['bytesInOutput'] !== 'number') {
      problems.push(`meta.json: outputs["${bundle}"].inputs["${file}"].bytesInOutput: expected a number`);
      continue;
    }
    if (info['bytesInOutput'] === 0) continue;
    // A path outside the workspace (node_modules reached through a symlink) starts at its first
    // node_modules/, as the lockfile's keys do. Then greedy up to the last node_modules/: a nested
    // copy's lockfile key keeps its parents.
    const inWorkspace = file.startsWith('../') ? file.replace(/^.*?(?=node_modules\/)/, '') : file;
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(inWorkspace);
    if (match) paths.add(match[1]!);
  }
  return [...paths].sort();
}

function readLockPackages(lockfile: unknown, problems: string[]): Map<string, LockEntry> {
  const result = new Map<string, LockEntry>();
  const packages = isRecord(lockfile) ? lockfile['packages'] : undefined;
  if (!isRecord(packages)) {
    problems.push('package-lock.json: packages: expected an object (lockfileVersion 2 or 3)');
    return result;
  }
  for (const [path, raw] of Object.entries(packages)) {
    if (!path.includes('node_modules/') || !isRecord(raw)) continue;
    if (typeof raw['version'] !== 'string') continue;
    result.set(path, {
      version: raw['version'],
      integrity: typeof raw['integrity'] === 'string' ? raw['integrity'] : undefined,
      license: typeof raw['license'] === 'string' ? raw['license'] : undefined,
    });
  }
  return result;
}
