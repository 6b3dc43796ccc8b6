import { readFile } from 'node:fs/promises';
import { parseBuildkiteEnv } from '@engex/workspace-config';
import { UsageError } from '../core/errors.js';
import type { Pipeline, StepCommand } from '../core/pipeline.js';
import { validatePipeline } from '../core/validate.js';
import { Git } from '../io/git.js';
import type { LocalGenerated } from './run-local.js';

/**
 * `run --local --pipeline <file>`: a typed pipeline given as data (e.g. bench:agents' seed-shaped
 * baseline), run through the same local runner as a generated one.
 */

/** Every `StepCommand` kind: a record keyed by the union, so a new kind does not compile until it is listed. */
const KINDS: Record<StepCommand['kind'], true> = {
  install: true,
  nx: true,
  'nx-run-many': true,
  'engex-ci': true,
  'meta-data': true,
  annotate: true,
  pull: true,
  'artifact-download': true,
  trivy: true,
  exec: true,
};
const COMMAND_KINDS: ReadonlySet<string> = new Set(Object.keys(KINDS));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Every shape problem of a `Pipeline` read from JSON, each with its path; the commands' own fields are the runner's to use. */
export function pipelineShapeIssues(data: unknown): string[] {
  const issues: string[] = [];
  if (!isObject(data)) return [`(root): expected an object with steps and notify, got ${JSON.stringify(data)?.slice(0, 40)}`];
  if (!Array.isArray(data['notify'])) issues.push('notify: expected an array');
  if (!Array.isArray(data['steps'])) return [...issues, 'steps: expected an array'];
  const step = (s: unknown, path: string, inGroup: boolean): void => {
    if (!isObject(s)) return void issues.push(`${path}: expected an object`);
    if (typeof s['key'] !== 'string') issues.push(`${path}.key: expected a string`);
    if (s['type'] === 'group' && !inGroup) {
      if (!Array.isArray(s['steps'])) issues.push(`${path}.steps: expected an array`);
      else s['steps'].forEach((c, i) => step(c, `${path}.steps[${i}]`, true));
      return;
    }
    if (s['type'] === 'block') {
      if (!isStrings(s['dependsOn'])) issues.push(`${path}.dependsOn: expected an array of step keys`);
      return;
    }
    if (s['type'] !== 'command') return void issues.push(`${path}.type: expected command${inGroup ? ' or block' : ', block or group'}, got ${JSON.stringify(s['type'])}`);
    for (const field of ['dependsOn', 'artifactPaths'] as const) if (!isStrings(s[field])) issues.push(`${path}.${field}: expected an array of strings`);
    for (const field of ['plugins', 'retry'] as const) if (!Array.isArray(s[field])) issues.push(`${path}.${field}: expected an array`);
    for (const field of ['agents', 'env', 'meta'] as const) if (!isObject(s[field])) issues.push(`${path}.${field}: expected an object`);
    if (typeof s['timeoutInMinutes'] !== 'number' || s['timeoutInMinutes'] <= 0) issues.push(`${path}.timeoutInMinutes: expected a positive number`);
    if (s['cancelOnBuildFailing'] !== undefined && typeof s['cancelOnBuildFailing'] !== 'boolean')
      issues.push(`${path}.cancelOnBuildFailing: expected true or false, got ${JSON.stringify(s['cancelOnBuildFailing'])}`);
    if (!Array.isArray(s['commands'])) return void issues.push(`${path}.commands: expected an array`);
    s['commands'].forEach((c, i) => {
      if (!isObject(c) || !COMMAND_KINDS.has(c['kind'] as string)) issues.push(`${path}.commands[${i}].kind: expected one of ${[...COMMAND_KINDS].join(', ')}`);
    });
  };
  data['steps'].forEach((s, i) => step(s, `steps[${i}]`, false));
  return issues;
}

export async function readPipelineFile(file: string, cwd: string, env: Readonly<Record<string, string | undefined>>): Promise<LocalGenerated> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--pipeline ${file}: ${(error as Error).message}`, {
      hint: 'Pass a JSON file of the typed Pipeline model (what `generate --format json` plans, before rendering).',
    });
  }
  const shape = pipelineShapeIssues(data);
  const issues = shape.length > 0 ? shape : validatePipeline([data as Pipeline]).map((i) => `${i.path}: ${i.message}`);
  if (issues.length > 0)
    throw new UsageError(`--pipeline ${file} is not a valid pipeline (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${issues.map((i) => `  ${i}`).join('\n')}`);
  const git = new Git(cwd, env);
  const commit = (await git.run(['rev-parse', 'HEAD'])).trim();
  // The build is what Buildkite's variables say (a pull request's pipeline stays a pull request's
  // build when someone hands in an edited copy); without them, the checkout's branch.
  const bk = parseBuildkiteEnv(env);
  const branch = bk.branch ?? (await git.run(['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
  return {
    pipeline: data as Pipeline,
    commit,
    branch,
    defaultBranch: bk.defaultBranch ?? 'main',
    pullRequest: bk.pullRequest !== undefined ? String(bk.pullRequest) : 'false',
    summary: `engex-pipeline: running the pipeline in ${file} for HEAD ${commit.slice(0, 12)} on ${branch}${bk.pullRequest !== undefined ? ` (pull request ${bk.pullRequest})` : ''}`,
  };
}
