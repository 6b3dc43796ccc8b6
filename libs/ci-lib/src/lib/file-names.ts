/**
 * File names and keys that engex-ci and the steps the pipeline generator writes must agree on. The
 * generator imports them through `@engex/ci-lib/contract`. docker/Dockerfile spells the SBOM's path
 * in the image (/app/sbom.cdx.json) by hand, as a COPY cannot import; `cli-image.spec.ts` builds through it.
 */

/** The CycloneDX SBOM `image sbom` writes next to the bundle (`<service root>/dist/`). */
export const SBOM_FILE = 'sbom.cdx.json';

/**
 * The build meta-data key of a service's pushed digest: the image step sets it, the deploy step
 * reads it, and `image push` proves a retry of this build by it.
 */
export function digestMetaDataKey(service: string): string {
  return `engex:${service}:digest`;
}
