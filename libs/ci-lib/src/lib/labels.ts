import type { ServiceConfig, WorkspaceConfig } from '@engex/workspace-config';
import { InvalidInputError } from './errors.js';
import { assertFullSha } from './tags.js';

/**
 * Pre-defined annotation keys of the OCI image-spec (annotations.md), used as image labels.
 * `ref.name` is not among them: the spec defines it for index descriptors (the name of a manifest
 * inside an index or layout), not for an image's own config.
 */
export const OCI = {
  created: 'org.opencontainers.image.created',
  revision: 'org.opencontainers.image.revision',
  source: 'org.opencontainers.image.source',
  url: 'org.opencontainers.image.url',
  version: 'org.opencontainers.image.version',
  title: 'org.opencontainers.image.title',
  description: 'org.opencontainers.image.description',
  vendor: 'org.opencontainers.image.vendor',
  licenses: 'org.opencontainers.image.licenses',
  baseName: 'org.opencontainers.image.base.name',
  baseDigest: 'org.opencontainers.image.base.digest',
  authors: 'org.opencontainers.image.authors',
  documentation: 'org.opencontainers.image.documentation',
} as const;

/** Our own keys, under the reverse-DNS of hspt.io as the OCI spec asks for custom keys. */
export const HSPT = {
  buildUrl: 'io.hspt.build.url',
  buildNumber: 'io.hspt.buildkite.build-number',
  pipeline: 'io.hspt.buildkite.pipeline',
  branch: 'io.hspt.buildkite.branch',
  /** `sha256:<hex>` of the CycloneDX SBOM baked into the image (see sbom.ts). */
  sbomDigest: 'io.hspt.sbom.digest',
} as const;

export interface LabelInputs {
  service: Pick<ServiceConfig, 'service' | 'description' | 'source' | 'ownerTeam' | 'root'>;
  workspace: Pick<WorkspaceConfig, 'vendor' | 'licenses'>;
  /** Full 40-hex commit sha. */
  sha: string;
  /** When the build runs; `created` unless SOURCE_DATE_EPOCH is given. */
  buildTime: Date;
  /** Raw SOURCE_DATE_EPOCH (integer seconds). Wins over `buildTime` for reproducible builds. */
  sourceDateEpoch?: string;
  /** Human version: the semver of a tag build. Default: the sha. */
  version?: string;
  buildUrl?: string;
  buildNumber?: number;
  pipelineSlug?: string;
  branch?: string;
  /**
   * The service README's path in the repository when it exists at `sha` (`<root>/README.md`);
   * `documentation` links to it at that revision, and is left out without one.
   */
  documentationPath?: string;
  /** `sha256:<hex>` of the SBOM file that goes into the image. */
  sbomDigest?: string;
  /** The Dockerfile's NODE_IMAGE; `digest` when known (pinned by digest, or from the local image's RepoDigests). */
  baseImage: { name: string; digest?: string };
}

export interface ImageMetadata {
  /** Label key → value; only known values are present. */
  labels: Record<string, string>;
  /** The shared Dockerfile's label/version build args; unknown ones are omitted so its defaults apply. */
  buildArgs: { REVISION: string; CREATED: string; SOURCE: string; VERSION: string; BUILD_URL?: string };
}

const MAX_EPOCH_SECONDS = 253_402_300_799; // 9999-12-31T23:59:59Z, the last RFC 3339 second

/** Resolves `created`: SOURCE_DATE_EPOCH when set (validated), else the build time. */
export function resolveCreated(buildTime: Date, sourceDateEpoch?: string): Date {
  if (sourceDateEpoch !== undefined) {
    if (!/^\d{1,12}$/.test(sourceDateEpoch) || Number(sourceDateEpoch) > MAX_EPOCH_SECONDS) {
      throw new InvalidInputError('SOURCE_DATE_EPOCH', sourceDateEpoch, 'expected whole seconds since 1970-01-01 UTC, such as 1767225600');
    }
    return new Date(Number(sourceDateEpoch) * 1000);
  }
  if (Number.isNaN(buildTime.getTime())) throw new InvalidInputError('build time', String(buildTime), 'expected a valid date');
  return buildTime;
}

/** RFC 3339 in UTC at second precision, e.g. 2026-11-27T09:41:54Z. */
export function formatRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Docker's short names mean Docker Hub; the OCI `base.name` wants the fully qualified reference
 * so that a reader does not have to know that convention.
 */
export function qualifyImageName(ref: string): string {
  const [first, ...rest] = ref.split('/');
  const hasRegistry = rest.length > 0 && (first!.includes('.') || first!.includes(':') || first === 'localhost');
  if (hasRegistry) return ref;
  return rest.length === 0 ? `docker.io/library/${ref}` : `docker.io/${ref}`;
}

/** Pure: the full label set and the matching build args of one image. */
export function planImageMetadata(inputs: LabelInputs): ImageMetadata {
  const sha = assertFullSha(inputs.sha);
  const created = formatRfc3339(resolveCreated(inputs.buildTime, inputs.sourceDateEpoch));
  const version = inputs.version ?? sha;
  const source = inputs.service.source.replace(/\.git$/, '');
  const baseDigest = inputs.baseImage.digest ?? /@(sha256:[0-9a-f]{64})$/.exec(inputs.baseImage.name)?.[1];

  const labels: Record<string, string> = {
    [OCI.created]: created,
    [OCI.revision]: sha,
    [OCI.source]: source,
    [OCI.url]: source,
    [OCI.version]: version,
    [OCI.title]: inputs.service.service,
    [OCI.description]: inputs.service.description,
    [OCI.vendor]: inputs.workspace.vendor,
    [OCI.licenses]: inputs.workspace.licenses,
    [OCI.baseName]: qualifyImageName(inputs.baseImage.name),
    [OCI.authors]: inputs.service.ownerTeam,
  };
  // The README at the exact revision, so the docs match the code in the image.
  if (inputs.documentationPath) labels[OCI.documentation] = `${source}/blob/${sha}/${inputs.documentationPath}`;
  if (inputs.sbomDigest) labels[HSPT.sbomDigest] = inputs.sbomDigest;
  if (baseDigest) labels[OCI.baseDigest] = baseDigest;
  if (inputs.buildUrl) labels[HSPT.buildUrl] = oneLine(inputs.buildUrl);
  if (inputs.buildNumber !== undefined) labels[HSPT.buildNumber] = String(inputs.buildNumber);
  if (inputs.pipelineSlug) labels[HSPT.pipeline] = inputs.pipelineSlug;
  if (inputs.branch) labels[HSPT.branch] = oneLine(inputs.branch);

  const buildArgs: ImageMetadata['buildArgs'] = { REVISION: sha, CREATED: created, SOURCE: source, VERSION: version };
  if (inputs.buildUrl) buildArgs.BUILD_URL = oneLine(inputs.buildUrl);
  return { labels, buildArgs };
}

/** Control characters would survive argv but break `docker inspect` readers and log lines. */
function oneLine(value: string): string {
  return value.replace(/\p{Cc}+/gu, ' ');
}

/** `--label k=v` pairs, sorted by key so the docker command line is stable. */
export function renderLabelArgs(labels: Readonly<Record<string, string>>): string[] {
  return Object.keys(labels)
    .sort()
    .flatMap((key) => ['--label', `${key}=${labels[key]}`]);
}

/** `--build-arg K=V` pairs in the given order; undefined values are skipped. */
export function renderBuildArgs(args: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(args).flatMap(([key, value]) => (value === undefined ? [] : ['--build-arg', `${key}=${value}`]));
}
