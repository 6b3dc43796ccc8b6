/**
 * File names and keys that engex-ci and the steps the pipeline generator writes must agree on. The
 * generator imports them through `@engex/ci-lib/contract`. docker/Dockerfile spells the SBOM's path
 * in the image (/app/sbom.cdx.json) by hand, as a COPY cannot import; `cli-image.spec.ts` builds through it.
 */

/** The service bundle in `<service root>/dist/` that docker/Dockerfile copies (the esbuild metafile's output key). */
export const BUNDLE_FILE = 'main.cjs';

/** The CycloneDX SBOM `image sbom` writes next to the bundle (`<service root>/dist/`). */
export const SBOM_FILE = 'sbom.cdx.json';

/**
 * The build meta-data key of a service's pushed digest: the image step sets it, the deploy step
 * reads it, and `image push` proves a retry of this build by it.
 */
export function digestMetaDataKey(service: string): string {
  return `engex:${service}:digest`;
}
