export { generate, type GenerateOptions, type GenerateResult } from './lib/generate.js';
export {
  AGENT_LOST_RETRY,
  DEFAULT_TARGETS,
  PLAN_STEP_KEY,
  normalizePlanOptions,
  planDetailed,
  planPipeline,
  type BaseSummary,
  type BuildContext,
  type PlanOptions,
  type PlanOptionsInput,
  type PlanPipelineInput,
} from './lib/plan.js';
export {
  commandSteps,
  type AutomaticRetry,
  type CommandRole,
  type CommandStep,
  type GroupStep,
  type ImageRef,
  type Pipeline,
  type PipelineStep,
  type PluginUse,
  type SlackNotify,
  type StepCommand,
  type StepMeta,
} from './lib/pipeline.js';
export {
  MAX_JOBS_PER_UPLOAD,
  escapeInterpolation,
  jobCount,
  renderPipeline,
  renderUploads,
  splitPipeline,
  toBuildkite,
  type PipelineFormat,
} from './lib/render.js';
export { assertValidPipeline, validatePipeline } from './lib/validate.js';
export { DEFERRED_STATUS, quoteShellArg, renderShellCommand, renderShellCommands } from './lib/shell.js';
export { analyzeAffected, type AffectedAnalysis, type AffectedProject, type AffectedTask, type SkippedTask, type WorkspaceProject } from './lib/affected.js';
export { parseBuildkiteEnv, type BuildkiteApiConfig, type BuildkiteEnv } from '@engex/workspace-config';
export { readLastPassedCommit, type HttpGet } from './lib/buildkite-api.js';
export { selectBase, type BaseRule, type BaseSelection, type SelectBaseOptions } from './lib/select-base.js';
export { planAnnotation, renderSummary, type ServicePlan } from './lib/summary.js';
export {
  BaseUnavailableError,
  BuildkiteApiError,
  EnvError,
  GeneratorError,
  GitError,
  PipelineInvalidError,
  UsageError,
  WorkspaceError,
  type EnvIssue,
  type GeneratorErrorCode,
  type PipelineIssue,
} from './lib/errors.js';
