export {
  DEFAULT_WORKSPACE_CONFIG,
  SERVICE_TAG,
  SEVERITIES,
  WORKSPACE_CONFIG_FILE,
  deployTargetFor,
  isService,
  parseWorkspaceConfig,
  resolveServiceConfig,
  type DeployTarget,
  type ProjectInfo,
  type ServiceConfig,
  type Severity,
  type TagConfig,
  type WorkspaceConfig,
} from './lib/config.js';
export { readWorkspaceConfig } from './lib/read-config.js';
export { ConfigError, EngexError, UsageError, type ConfigIssue, type EngexErrorCode } from './lib/errors.js';
