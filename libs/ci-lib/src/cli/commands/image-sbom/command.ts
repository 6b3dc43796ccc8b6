import { CONTEXT_ENV } from '../../../lib/context.js';
import { PROJECT_FLAG, defineSpec } from '../../spec.js';

export const IMAGE_SBOM = defineSpec({
  name: 'image sbom',
  summary: 'Write the CycloneDX SBOM of the npm packages bundled into the service',
  synopsis: '--project <p>',
  details: `
    Reads the esbuild metafile (<service root>/dist/meta.json, written by \`nx build\`) and package-lock.json,
    and writes <service root>/dist/sbom.cdx.json (CycloneDX 1.6 JSON, validated against its schema): every
    npm package with bytes in the bundle, with version, purl, license and SHA-512 hash from the lockfile.
    Timestamp: SOURCE_DATE_EPOCH, else the commit time, so the same commit gives the same bytes.
    \`image build\` runs this too, bakes the file into the image at /app/sbom.cdx.json and labels
    io.hspt.sbom.digest with its sha256.
  `,
  flags: `
    ${PROJECT_FLAG}
  `,
  positionals: [],
  output: ['sbom <service root>/dist/sbom.cdx.json sha256:<hex> packages=<n>'],
  env: CONTEXT_ENV,
  exit: '0 written, 2 usage/config (metafile or lockfile missing or disagreeing)',
});
