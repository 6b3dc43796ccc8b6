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
  normalizeOverlay,
  KUSTOMIZATION_FILES,
  APPROVALS,
  DEPLOY_WHEN,
  STEP_GRANULARITIES,
  PRODUCTION_OVERLAY,
  isService,
  parseWorkspaceConfig,
  resolveServiceConfig,
  type DeployTarget,
  type Approval,
  type DeployWhen,
  type ProjectInfo,
  type ServiceConfig,
  type Severity,
  type StepGranularity,
  type TagConfig,
  type TrustDecision,
  type TrustInput,
  type WorkspaceConfig,
} from './lib/config.js';
export { WORKSPACE_CONFIG_SCHEMA } from './lib/config-schema.js';
export { readWorkspaceConfig } from './lib/read-config.js';
export { findServiceProject, readServiceConfig, readWorkspaceProjects } from './lib/read-projects.js';
export { validateProjectManifest, validateWorkspaceProjects } from './lib/project-manifest.js';
export { WORKSPACE_MARKER, findWorkspaceRoot } from './lib/workspace-root.js';

export { ecrHostFor, parseEcrHost, validateRepositoryName, type EcrRegistry } from './lib/ecr.js';
export { ecrImageName, isLoopbackHost, parseRegistryOverride, registryTargetFor, type RegistryConfig, type RegistryTarget } from './lib/registry.js';

export { BUILDKITE_ENV, ENV_HINT, collectBuildkiteEnv, parseBuildkiteEnv, readEnv, type BuildkiteApiConfig, type BuildkiteEnv, type Env } from './lib/buildkite-env.js';
