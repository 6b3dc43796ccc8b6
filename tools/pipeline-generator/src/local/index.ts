export { RUN_USAGE, parseRunArgs, runLocalCommand } from './command.js';
export { runLocal, STATE_DIR, type LocalGenerated, type LocalRunFlags, type RunLocalOptions } from './run-local.js';
export { LocalSetupError } from './preflight.js';
export { LocalPlanError, planLocalRun, orderSteps, type LocalAction, type LocalRunPlan, type LocalStep } from './plan-local-run.js';
export { buildStepEnv, localBuildUrl, LOCAL_PIPELINE_SLUG, type LocalBuild } from './local-env.js';
export { renderSummary, runExitCode, type StepResult } from './render-summary.js';
export { renderOpsSeed, SEEDED_OVERLAYS } from './ops-repo.js';
