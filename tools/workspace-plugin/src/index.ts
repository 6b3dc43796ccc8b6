export { serviceGenerator, renderEcrInstructions, templateVariables, SERVICE_TEMPLATES } from './generators/service/generator.js';
export { normalizeServiceOptions, DEFAULT_OWNER_TEAM, DEFAULT_PORT, type NormalizedServiceOptions } from './generators/service/normalize-options.js';
export type { ServiceGeneratorSchema } from './generators/service/schema.js';
export { ECR_LOCALS_FILE, insertEcrLocal, renderEcrLocal } from './lib/ecr-locals.js';
export {
  MAX_SERVICE_NAME_LENGTH,
  RESERVED_SERVICE_NAMES,
  SERVICE_NAME_PATTERN,
  validateServiceName,
  type ServiceNameContext,
} from './lib/service-name.js';
export {
  EcrLocalsSectionNotFoundError,
  EcrLocalsUnsupportedError,
  InvalidServiceOptionsError,
  WorkspacePluginError,
  type OptionIssue,
  type WorkspacePluginErrorCode,
} from './lib/errors.js';
