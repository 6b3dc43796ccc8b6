/**
 * File names that engex-ci and the steps the pipeline generator writes must agree on. The
 * generator imports them through `@engex/ci-lib/contract`. docker/Dockerfile has to spell the SBOM's
 * by hand (a COPY cannot import); `cli-image.spec.ts` builds through it.
 */

/** The CycloneDX SBOM `image sbom` writes next to the bundle (`<service root>/dist/`). */
export const SBOM_FILE = 'sbom.cdx.json';

/** Where the Dockerfile puts the SBOM in the image. */
export const SBOM_IMAGE_PATH = `/app/${SBOM_FILE}`;
