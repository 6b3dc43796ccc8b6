// The plugin's public surface: its two generators (Nx loads them through generators.json and
// src/generators/entry.cjs, not this file), their option types, and the error base a caller
// catches. Everything else is internal to the generators and their specs.
export { serviceGenerator } from './generators/service/generator.js';
export type { ServiceGeneratorSchema } from './generators/service/schema.js';
export { ecrLocalGenerator } from './generators/ecr-local/generator.js';
export type { EcrLocalGeneratorSchema } from './generators/ecr-local/schema.js';
export { WorkspacePluginError, type WorkspacePluginErrorCode } from './lib/errors.js';
