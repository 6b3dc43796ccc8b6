import { commandSteps, type BlockStep, type CommandStep, type Pipeline, type PipelineStep, type StepCommand } from './pipeline.js';
import { renderShellCommands } from './shell.js';
import { emitYaml, type Json } from './yaml-emit.js';

export type PipelineFormat = 'yaml' | 'json';

/**
 * Buildkite interpolates `$VAR`, `${VAR}` and `$(…)`-looking text at upload time; `$$` is its
 * escape for a literal `$`. Every string we emit is escaped, so what Buildkite runs is exactly
 * the typed pipeline: branch names, file names and project names stay inert, and the shell
 * variables the commands use are expanded by the shell at run time, not at upload.
 */
export function escapeInterpolation(text: string): string {
  return text.replaceAll('$', '$$$$');
}

/** The pipeline in Buildkite's schema (snake_case), every string escaped for interpolation. */
export function toBuildkite(pipeline: Pipeline): Record<string, unknown> {
  const shared = sharedAgents(pipeline);
  const out: Record<string, unknown> = {};
  if (shared) out['agents'] = escapeDeep(shared);
  out['steps'] = pipeline.steps.map((s) => stepToBuildkite(s, shared));
  if (pipeline.notify.length > 0) {
    out['notify'] = pipeline.notify.map((n) => ({ slack: { channels: [e(n.channel)] }, if: e(n.if) }));
  }
  return out;
}

/** `escapeInterpolation`, skipping the common case of no `$` at all. */
function e(text: string): string {
  return text.includes('$') ? escapeInterpolation(text) : text;
}

/**
 * The agents most steps target (the check queue; ties: the earliest), said once as the pipeline
 * default. Steps on another queue (image, deploy, scan) say theirs: a step's `agents` replaces
 * the pipeline's.
 */
function sharedAgents(pipeline: Pipeline): Readonly<Record<string, string>> | undefined {
  const counts: { agents: Readonly<Record<string, string>>; n: number }[] = [];
  for (const step of commandSteps(pipeline)) {
    const entry = counts.find((c) => sameAgents(c.agents, step.agents));
    if (entry) entry.n++;
    else counts.push({ agents: step.agents, n: 1 });
  }
  return counts.reduce<(typeof counts)[number] | undefined>((best, c) => (best === undefined || c.n > best.n ? c : best), undefined)?.agents;
}

function sameAgents(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function stepToBuildkite(step: PipelineStep, shared: Readonly<Record<string, string>> | undefined): Record<string, unknown> {
  if (step.type === 'group') {
    return { group: e(step.label), key: e(step.key), steps: step.steps.map((s) => (s.type === 'block' ? blockToBuildkite(s) : commandToBuildkite(s, shared))) };
  }
  return commandToBuildkite(step, shared);
}

function blockToBuildkite(step: BlockStep): Record<string, unknown> {
  return {
    block: e(step.label),
    key: e(step.key),
    prompt: e(step.prompt),
    ...(step.dependsOn.length > 0 ? { depends_on: step.dependsOn.map(e) } : {}),
  };
}

function commandToBuildkite(step: CommandStep, sharedAgents: Readonly<Record<string, string>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {
    label: e(step.label),
    key: e(step.key),
    commands: shellLines(step.commands),
  };
  if (step.dependsOn.length > 0) out['depends_on'] = step.dependsOn.map(e);
  if (step.plugins.length > 0) out['plugins'] = shared(step.plugins, (plugins) => plugins.map((p) => ({ [e(p.ref)]: escapeDeep(p.config) })));
  if (sharedAgents === undefined || !sameAgents(step.agents, sharedAgents)) out['agents'] = shared(step.agents, escapeDeep);
  out['timeout_in_minutes'] = step.timeoutInMinutes;
  if (step.cancelOnBuildFailing === true) out['cancel_on_build_failing'] = true;
  if (step.retry.length > 0 && step.retryManual === undefined) {
    out['retry'] = shared(step.retry, (retry) => ({ automatic: retry.map((r) => ({ exit_status: r.exitStatus, limit: r.limit })) }));
  } else if (step.retry.length > 0 || step.retryManual !== undefined) {
    out['retry'] = {
      ...(step.retry.length > 0 ? { automatic: step.retry.map((r) => ({ exit_status: r.exitStatus, limit: r.limit })) } : {}),
      ...(step.retryManual
        ? { manual: { permit_on_passed: step.retryManual.permitOnPassed, ...(step.retryManual.reason !== undefined ? { reason: e(step.retryManual.reason) } : {}) } }
        : {}),
    };
  }
  if (Object.keys(step.env).length > 0) out['env'] = shared(step.env, escapeDeep);
  if (step.artifactPaths.length > 0) out['artifact_paths'] = step.artifactPaths.map(e);
  if (step.concurrency) {
    out['concurrency_group'] = e(step.concurrency.group);
    out['concurrency'] = step.concurrency.limit;
  }
  return out;
}

/**
 * Steps share their agents, retry rules and plugins (the same objects): map each once, and hand
 * the emitter the same output object, which it then writes once too.
 */
const mapped = new WeakMap<object, unknown>();

function shared<T extends object>(value: T, map: (value: T) => unknown): unknown {
  let out = mapped.get(value);
  if (out === undefined) mapped.set(value, (out = map(value)));
  return out;
}

/** Steps share their setup commands: render each command list once. */
const linesOf = new WeakMap<readonly StepCommand[], string[]>();

function shellLines(commands: readonly StepCommand[]): string[] {
  let lines = linesOf.get(commands);
  if (!lines) linesOf.set(commands, (lines = renderShellCommands(commands).map(e)));
  return lines;
}

function escapeDeep(value: unknown): unknown {
  if (typeof value === 'string') return e(value);
  if (Array.isArray(value)) return value.map(escapeDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [e(k), escapeDeep(v)]));
  }
  return value;
}

/**
 * One upload as text. JSON and YAML both come from `toBuildkite`, the one mapping of the typed
 * pipeline onto Buildkite's schema. No anchors or aliases, no folded lines: what you read is what
 * runs (see yaml-emit.ts for why not the `yaml` library).
 */
export function renderPipeline(pipeline: Pipeline, format: PipelineFormat): string {
  const data = toBuildkite(pipeline);
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : emitYaml(data as Json);
}

/** Several uploads as one text: YAML documents separated by `---`, or a JSON array. */
export function renderUploads(uploads: readonly Pipeline[], format: PipelineFormat): string {
  if (uploads.length === 1) return renderPipeline(uploads[0] as Pipeline, format);
  if (format === 'json') return `${JSON.stringify(uploads.map(toBuildkite), null, 2)}\n`;
  return uploads.map((u) => renderPipeline(u, 'yaml')).join('---\n');
}
