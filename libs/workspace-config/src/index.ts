// The public surface of @engex/workspace-config: the config model and its validation, ECR
// naming, the Buildkite environment, the workspace root, and the errors every engex package
// shares. It imports no other engex package.

export { problemList } from './lib/problem-list.js';
export {
  EXIT_CODES,
  ConfigError,
  EngexError,
  InvalidInputError,
  UsageError,
  errorKind,
  exitCodeFor,
  type ConfigIssue,
  type PathIssue,
  type EngexErrorOptions,
  type ExitCode,
} from './lib/errors.js';
export { Issues, describe as describeValue, isRecord } from './lib/validate.js';
export { isSpdxExpression } from './lib/spdx.js';
export { readBuildInfo, renderVersion, type BuildInfo } from './lib/build-info.js';

export {
  DEFAULT_WORKSPACE_CONFIG,
  SERVICE_TAG,
  SEVERITIES,
  WORKSPACE_CONFIG_FILE,
  deployTargetFor,
  deployTargetsFor,
  decideTrust,
  matchesAny,
  trustedBranchesFor,
  KUSTOMIZATION_FILES,
  isService,
  parseWorkspaceConfig,
  resolveServiceConfig,
  type DeployTarget,
  type ServiceConfig,
  type Severity,
  type TagConfig,
  type TrustDecision,
  type WorkspaceConfig,
} from './lib/config.js';
export { readWorkspaceConfig } from './lib/read-config.js';
export { readServiceConfig, readWorkspaceProjects } from './lib/read-projects.js';
export { validateWorkspaceProjects } from './lib/project-manifest.js';
export { findWorkspaceRoot } from './lib/workspace-root.js';

export { ecrHostFor, validateRepositoryName } from './lib/ecr.js';
export { isLoopbackHost, parseRegistryOverride, registryTargetFor, type RegistryTarget } from './lib/registry.js';

export { ENV_HINT, collectBuildkiteEnv, parseBuildkiteEnv, readEnv, type BuildkiteApiConfig, type BuildkiteEnv, type Env } from './lib/buildkite-env.js';
