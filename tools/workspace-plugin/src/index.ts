export { SERVICE_TEMPLATES, serviceGenerator, templateVariables } from './generators/service/generator.js';
export { DEFAULT_OWNER_TEAM, DEFAULT_PORT, normalizeServiceOptions, type NormalizedServiceOptions } from './generators/service/normalize-options.js';
export type { ServiceGeneratorSchema } from './generators/service/schema.js';
export { ecrLocalGenerator, normalizeEcrLocalOptions, type NormalizedEcrLocalOptions } from './generators/ecr-local/generator.js';
export type { EcrLocalGeneratorSchema } from './generators/ecr-local/schema.js';
export { ECR_LOCALS_FILE, insertEcrLocal, renderEcrLocal } from './lib/ecr-locals.js';
export { readEcrLocalsEdit, renderEcrInstructions, writeEcrLocalsEdit, type EcrLocalsEdit } from './lib/read-ecr-locals.js';
export { MAX_SERVICE_NAME_LENGTH, RESERVED_SERVICE_NAMES, SERVICE_NAME_PATTERN, validateServiceName, type ServiceNameContext } from './lib/service-name.js';
export {
  EcrLocalsSectionNotFoundError,
  EcrLocalsUnsupportedError,
  InvalidServiceOptionsError,
  WorkspacePluginError,
  type OptionIssue,
  type WorkspacePluginErrorCode,
} from './lib/errors.js';
