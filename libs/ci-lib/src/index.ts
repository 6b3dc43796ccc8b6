// The public surface of @engex/ci-lib: what the pipeline generator and the local runner use.
// Everything else stays internal to the engex-ci executable.

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
export { findServiceProject, findWorkspaceRoot, readServiceConfig, readWorkspaceProjects } from './lib/workspace.js';
export { CONTEXT_ENV, parseBuildContext, type BuildContext } from './lib/context.js';

export {
  DOCKER_TAG_PATTERN,
  FULL_SHA_PATTERN,
  assertFullSha,
  isValidDockerTag,
  planTags,
  sanitizeTag,
  semverFromGitTag,
  type PlannedTags,
  type TagInputs,
} from './lib/tags.js';
export { HSPT, OCI, planImageMetadata, renderBuildArgs, renderLabelArgs, resolveCreated, type ImageMetadata, type LabelInputs } from './lib/labels.js';
export { ecrHostFor, parseEcrHost, validateRepositoryName, type EcrRegistry } from './lib/ecr.js';
export {
  isLoopbackHost,
  parseRegistryOverride,
  planImageRefs,
  registryTargetFor,
  type ImageRefs,
  type RegistryTarget,
  type SeedImageEnv,
} from './lib/image-ref.js';

export {
  MANIFEST_ACCEPT,
  createRegistryClient,
  type ManifestHead,
  type RegistryClient,
  type RegistryClientOptions,
  type RegistryCredentials,
  type RemoteImage,
} from './lib/registry-client.js';
export { createEcrClient, readEcrCredentials, type EcrClientLike, type EcrCredentials } from './lib/ecr-credentials.js';
export { Secret } from './lib/secret.js';
export { DEFAULT_RETRY, type RetryOptions } from './lib/retry.js';
export { createDocker, type Docker, type LocalImage } from './lib/docker.js';
export { DOCKERFILE, planDockerBuild, type DockerBuildPlan } from './lib/build-image.js';
export { decidePush, pushImage, renderPushResult, type PushDecision, type PushResult } from './lib/push-image.js';
export { smokeImage, type SmokeResult } from './lib/smoke-image.js';

export { parseTrivyReport, parseTrivyReportText, type Finding, type TrivyReport } from './lib/trivy-report.js';
export { evaluateScan, parseSeverityList, parseTrivyIgnore, type IgnoreEntry, type ScanEvaluation, type ScanPolicy } from './lib/scan-policy.js';
export { renderScanMarkdown, renderScanSummary } from './lib/render-scan-markdown.js';

export { setImageTag, type ImageTagEdit } from './lib/kustomization.js';
export { deployBump, planDeploy, renderBumpCommitMessage, type DeployBumpOptions, type DeployBumpResult, type DeployPlan } from './lib/deploy-bump.js';

export {
  CommandFailedError,
  ConfigError,
  EXIT_CODES,
  EngexError,
  ImmutableTagError,
  InfrastructureError,
  InvalidInputError,
  ManifestError,
  PolicyFailedError,
  RegistryError,
  ScanReportError,
  SmokeTestError,
  UsageError,
  exitCodeFor,
  type ConfigIssue,
  type EngexErrorCode,
  type ExitCode,
} from './lib/errors.js';
export { MASK, redact, secretsFromEnv, type RedactOptions } from './lib/redact.js';
export { DEADLINE_ENV, DEFAULT_DEADLINES, parseDeadlines, type Deadlines } from './lib/deadlines.js';
export { parseRetryAfter, withRetry, type GiveUpReason, type WithRetryOptions } from './lib/retry.js';
export { DeadlineExceededError, RegistryThrottledError } from './lib/errors.js';
export { ECR_LOCALS_FILE, renderEcrLocal } from './lib/ecr-terraform.js';
export { planEcrCheck, renderEcrCheckMarkdown, renderEcrCheckText, type EcrCheckOptions, type EcrCheckResult, type RepositoryFacts } from './lib/ecr-check.js';
export { describeEcrImages, describeEcrRepository, type EcrImageDetail, type EcrRepositoryFacts } from './lib/ecr-credentials.js';
export { formatAge, readDeployStatus, renderStatusTable, type Fact, type ReadStatusOptions, type StatusRow } from './lib/deploy-status.js';
export { listEcrImages, listPlainImages, renderImagesTable, type ImageRow } from './lib/list-images.js';
export { KUSTOMIZATION_FILE_NAMES, readImageEntry, type ImageEntry } from './lib/kustomization.js';
