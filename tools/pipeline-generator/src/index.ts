// The package's public surface: the CLI (`main`, what bin.ts runs), `generate` (git + Nx +
// Buildkite context -> pipeline), the pure planner and renderer, and the pipeline model's types.
// Nothing outside this package imports more; everything else is internal to core/, io/, local/.
export { main, USAGE, type CliIo } from './cli.js';
export { generate, type GenerateOptions, type GenerateResult } from './io/generate.js';
export { planPipeline, type PlanPipelineInput } from './core/plan.js';
export { renderPipeline, type PipelineFormat } from './core/render.js';
export type { CommandStep, EngexCiCall, Pipeline, PipelineStep, StepCommand } from './core/pipeline.js';
export { GeneratorError, type GeneratorErrorCode } from './core/errors.js';
