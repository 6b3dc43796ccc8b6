import { commandSteps, type CommandStep, type Pipeline, type PipelineStep, type StepCommand } from './pipeline.js';
import { renderShellCommands } from './shell.js';
import { Writer, type Json } from './yaml-emit.js';

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
  out['steps'] = pipeline.steps.map((s) => stepToBuildkite(s, shared === undefined));
  if (pipeline.notify.length > 0) {
    out['notify'] = pipeline.notify.map((n) => ({ slack: { channels: [e(n.channel)] }, if: e(n.if) }));
  }
  return out;
}

/** `escapeInterpolation`, skipping the common case of no `$` at all. */
function e(text: string): string {
  return text.includes('$') ? escapeInterpolation(text) : text;
}

/** Steps that all target the same agents say so once, as the pipeline default. */
function sharedAgents(pipeline: Pipeline): Readonly<Record<string, string>> | undefined {
  const steps = commandSteps(pipeline);
  const first = steps[0]?.agents;
  return first !== undefined && steps.every((s) => sameAgents(s.agents, first)) ? first : undefined;
}

function sameAgents(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function stepToBuildkite(step: PipelineStep, withAgents: boolean): Record<string, unknown> {
  if (step.type === 'group') {
    return { group: e(step.label), key: e(step.key), steps: step.steps.map((s) => commandToBuildkite(s, withAgents)) };
  }
  return commandToBuildkite(step, withAgents);
}

function commandToBuildkite(step: CommandStep, withAgents: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    label: e(step.label),
    key: e(step.key),
    commands: renderShellCommands(step.commands).map(e),
  };
  if (step.dependsOn.length > 0) out['depends_on'] = step.dependsOn.map(e);
  if (step.plugins.length > 0) out['plugins'] = step.plugins.map((p) => ({ [e(p.ref)]: escapeDeep(p.config) }));
  if (withAgents) out['agents'] = escapeDeep(step.agents);
  out['timeout_in_minutes'] = step.timeoutInMinutes;
  if (step.retry.length > 0) {
    out['retry'] = { automatic: step.retry.map((r) => ({ exit_status: r.exitStatus, limit: r.limit })) };
  }
  if (Object.keys(step.env).length > 0) out['env'] = escapeDeep(step.env);
  if (step.artifactPaths.length > 0) out['artifact_paths'] = step.artifactPaths.map(e);
  if (step.concurrency) {
    out['concurrency_group'] = e(step.concurrency.group);
    out['concurrency'] = step.concurrency.limit;
  }
  return out;
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
 * One upload as text. No anchors or aliases, no folded lines: what you read is what runs. JSON
 * comes from `toBuildkite`; YAML is written straight from the typed steps in the same order
 * (see yaml-emit.ts for why not the `yaml` library). render.spec.ts checks both read the same.
 */
export function renderPipeline(pipeline: Pipeline, format: PipelineFormat): string {
  if (format === 'json') return `${JSON.stringify(toBuildkite(pipeline), null, 2)}\n`;
  const w = new Writer();
  const shared = sharedAgents(pipeline);
  if (shared) w.field('agents', escapeDeep(shared) as Json, 0);
  w.open('steps', 0);
  for (const step of pipeline.steps) {
    if (step.type === 'group') {
      w.pair('group', e(step.label), 4, '  - ');
      w.pair('key', e(step.key), 4);
      w.open('steps', 4);
      for (const s of step.steps) writeCommandStep(w, s, 8, shared === undefined);
    } else {
      writeCommandStep(w, step, 4, shared === undefined);
    }
  }
  if (pipeline.notify.length > 0) {
    w.open('notify', 0);
    for (const n of pipeline.notify) {
      w.open('slack', 4, '  - ');
      w.open('channels', 6);
      w.item(e(n.channel), 8);
      w.pair('if', e(n.if), 4);
    }
  }
  return w.text();
}

/** Shell lines per command object: steps share their setup commands, render them once. */
const shellLines = new WeakMap<readonly StepCommand[], string[]>();

function writeCommandStep(w: Writer, step: CommandStep, indent: number, withAgents: boolean): void {
  const item = `${w.pad(indent - 2)}- `;
  w.pair('label', e(step.label), indent, item);
  w.pair('key', e(step.key), indent);
  w.open('commands', indent);
  let lines = shellLines.get(step.commands);
  if (!lines) shellLines.set(step.commands, (lines = renderShellCommands(step.commands).map(e)));
  for (const line of lines) w.item(line, indent + 2);
  if (step.dependsOn.length > 0) {
    w.open('depends_on', indent);
    for (const d of step.dependsOn) w.item(e(d), indent + 2);
  }
  if (step.plugins.length > 0) {
    w.open('plugins', indent);
    for (const p of step.plugins) w.map({ [e(p.ref)]: escapeDeep(p.config) as Json }, indent + 4, `${w.pad(indent + 2)}- `);
  }
  if (withAgents) w.field('agents', escapeDeep(step.agents) as Json, indent);
  w.pair('timeout_in_minutes', step.timeoutInMinutes, indent);
  if (step.retry.length > 0) {
    w.open('retry', indent);
    w.open('automatic', indent + 2);
    for (const r of step.retry) {
      w.pair('exit_status', r.exitStatus, indent + 6, `${w.pad(indent + 4)}- `);
      w.pair('limit', r.limit, indent + 6);
    }
  }
  if (Object.keys(step.env).length > 0) w.field('env', escapeDeep(step.env) as Json, indent);
  if (step.artifactPaths.length > 0) {
    w.open('artifact_paths', indent);
    for (const a of step.artifactPaths) w.item(e(a), indent + 2);
  }
  if (step.concurrency) {
    w.pair('concurrency_group', e(step.concurrency.group), indent);
    w.pair('concurrency', step.concurrency.limit, indent);
  }
}

/** Several uploads as one text: YAML documents separated by `---`, or a JSON array. */
export function renderUploads(uploads: readonly Pipeline[], format: PipelineFormat): string {
  if (uploads.length === 1) return renderPipeline(uploads[0] as Pipeline, format);
  if (format === 'json') return `${JSON.stringify(uploads.map(toBuildkite), null, 2)}\n`;
  return uploads.map((u) => renderPipeline(u, 'yaml')).join('---\n');
}
