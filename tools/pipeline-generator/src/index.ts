export { generate, type GenerateOptions, type GenerateResult } from './io/generate.js';
export {
  AGENT_LOST_RETRY,
  DEFAULT_TARGETS,
  PLAN_STEP_KEY,
  CHECKS_GATE_KEY,
  normalizePlanOptions,
  planDetailed,
  planPipeline,
  type BaseSummary,
  type BuildContext,
  type PlanOptions,
  type PlanOptionsInput,
  type PlanPipelineInput,
} from './core/plan.js';
export {
  commandSteps,
  type AutomaticRetry,
  type CommandStep,
  type EngexCiCall,
  type GroupStep,
  type ImageRef,
  type Pipeline,
  type PipelineStep,
  type PluginUse,
  type SlackNotify,
  type StepCommand,
  type StepMeta,
  type TrivyTarget,
} from './core/pipeline.js';
export { escapeInterpolation, renderPipeline, renderUploads, toBuildkite, type PipelineFormat } from './core/render.js';
export { MAX_JOBS_PER_UPLOAD, jobCount, splitPipeline } from './core/split.js';
export { assertValidPipeline, validatePipeline } from './core/validate.js';
export { DEFERRED_STATUS, imageReference, invocation, quoteShellArg, renderShellCommand, renderShellCommands, trivyArgs, type Invocation } from './core/shell.js';
export { analyzeAffected, type AffectedAnalysis, type AffectedProject, type AffectedTask, type SkippedTask, type WorkspaceProject } from './core/affected.js';
export { parseBuildkiteEnv, type BuildkiteApiConfig, type BuildkiteEnv } from '@engex/workspace-config';
export { readLastPassedCommit, type BuildkiteApiOptions, type HttpGet } from './io/buildkite-api.js';
export { selectBase, type BaseRule, type BaseSelection, type SelectBaseOptions } from './io/select-base.js';
export { planAnnotation, renderSummary, type ServicePlan } from './core/summary.js';
export {
  EXIT_CODES,
  LocalPlanError,
  LocalSetupError,
  type GeneratorErrorOptions,
  BaseUnavailableError,
  BuildkiteApiError,
  GeneratorError,
  GitError,
  PipelineInvalidError,
  UsageError,
  WorkspaceError,
  type GeneratorErrorCode,
  type PipelineIssue,
} from './core/errors.js';
export { main, USAGE, type CliIo } from './cli.js';
