// `@engex/ci-lib/contract`: how another tool calls engex-ci. Pure (no I/O), so the pipeline
// generator's planner can import it.
export { canonicalCall, parseCall, toArgv, type EngexCiCall, type EngexCiCallOf, type EngexCiCommand } from './cli/contract.js';
export { BUNDLE_FILE, SBOM_FILE, digestMetaDataKey } from './lib/file-names.js';
