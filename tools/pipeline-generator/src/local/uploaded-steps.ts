import { parse } from 'yaml';
import { LocalPlanError } from '../core/errors.js';
import { renderPipeline } from '../core/render.js';
import type { Pipeline } from '../core/pipeline.js';

/**
 * The steps exactly as Buildkite receives them: the pipeline rendered to the YAML that
 * `buildkite-agent pipeline upload` sends, parsed back. A local run executes this text, never
 * the typed commands, so a shell line that fails on an agent fails here too. Pure.
 */

export interface UploadedPlugin {
  /** e.g. `cache#v1.12.0`. */
  ref: string;
  config: Readonly<Record<string, unknown>>;
}

export interface UploadedCommandStep {
  type: 'command';
  key: string;
  label: string;
  /** The `commands` strings, still escaped for interpolation (`$$`). */
  commands: string[];
  dependsOn: string[];
  plugins: UploadedPlugin[];
  env: Record<string, string>;
  /** `agents.queue` of the step, else of the pipeline, else Buildkite's `default`. */
  queue: string;
  timeoutInMinutes: number;
  artifactPaths: string[];
  /** `retry.automatic`: a job that exits with `exitStatus` (`*`: any failure) runs again, up to `limit` times. */
  retry: { exitStatus: number | '*'; limit: number }[];
  /** `cancel_on_build_failing` (the schema also allows `"true"`); default false. */
  cancelOnBuildFailing: boolean;
}

export interface UploadedBlockStep {
  type: 'block';
  key: string;
  label: string;
  prompt: string;
  dependsOn: string[];
}

export interface Uploaded {
  /** Top-level `env`, interpolated into every step and given to every job. */
  env: Record<string, string>;
  steps: (UploadedCommandStep | UploadedBlockStep)[];
  /** Group key → the keys of its steps (a `depends_on` on a group waits for all of them). */
  groups: Map<string, string[]>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown, path: string): string[] => {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw new LocalPlanError(`Uploaded pipeline: ${path}: expected a string or a list of strings.`);
  return list;
};
const stringMap = (v: unknown, path: string): Record<string, string> => {
  if (v === undefined) return {};
  if (!isObj(v)) throw new LocalPlanError(`Uploaded pipeline: ${path}: expected a map.`);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
};

export function readUploaded(pipeline: Pick<Pipeline, 'steps' | 'notify'>): Uploaded {
  const doc: unknown = parse(renderPipeline(pipeline as Pipeline, 'yaml'));
  if (!isObj(doc) || !Array.isArray(doc['steps'])) throw new LocalPlanError('Uploaded pipeline: expected a map with steps.');
  const defaultQueue = isObj(doc['agents']) && typeof doc['agents']['queue'] === 'string' ? doc['agents']['queue'] : 'default';
  const out: Uploaded = { env: stringMap(doc['env'], 'env'), steps: [], groups: new Map() };
  const read = (s: unknown, path: string): void => {
    if (!isObj(s)) throw new LocalPlanError(`Uploaded pipeline: ${path}: expected a step.`);
    const key = String(s['key'] ?? '');
    if (typeof s['group'] === 'string') {
      const inner = Array.isArray(s['steps']) ? s['steps'] : [];
      inner.forEach((c, i) => read(c, `${path}.steps[${i}]`));
      out.groups.set(
        key,
        inner.map((c) => String((c as Obj)['key'])),
      );
      return;
    }
    const dependsOn = strings(s['depends_on'], `${path}.depends_on`);
    if (typeof s['block'] === 'string') {
      out.steps.push({ type: 'block', key, label: s['block'], prompt: String(s['prompt'] ?? ''), dependsOn });
      return;
    }
    const plugins = (Array.isArray(s['plugins']) ? s['plugins'] : []).map((p, i): UploadedPlugin => {
      const entries = isObj(p) ? Object.entries(p) : [];
      const [ref, config] = entries[0] ?? [];
      if (entries.length !== 1 || ref === undefined) throw new LocalPlanError(`Uploaded pipeline: ${path}.plugins[${i}]: expected one plugin per entry.`);
      return { ref, config: isObj(config) ? config : {} };
    });
    out.steps.push({
      type: 'command',
      key,
      label: String(s['label'] ?? key),
      commands: strings(s['commands'] ?? s['command'], `${path}.commands`),
      dependsOn,
      plugins,
      env: stringMap(s['env'], `${path}.env`),
      queue: isObj(s['agents']) && typeof s['agents']['queue'] === 'string' ? s['agents']['queue'] : defaultQueue,
      timeoutInMinutes: typeof s['timeout_in_minutes'] === 'number' ? s['timeout_in_minutes'] : 60,
      artifactPaths: strings(s['artifact_paths'], `${path}.artifact_paths`),
      retry: automaticRetry(s['retry']),
      cancelOnBuildFailing: s['cancel_on_build_failing'] === true || s['cancel_on_build_failing'] === 'true',
    });
  };
  doc['steps'].forEach((s, i) => read(s, `steps[${i}]`));
  return out;
}

function automaticRetry(retry: unknown): UploadedCommandStep['retry'] {
  const automatic = isObj(retry) ? retry['automatic'] : undefined;
  const rules = automatic === true ? [{}] : Array.isArray(automatic) ? automatic : [];
  return rules.filter(isObj).map((r) => ({
    exitStatus: typeof r['exit_status'] === 'number' ? r['exit_status'] : '*',
    limit: typeof r['limit'] === 'number' ? r['limit'] : 2,
  }));
}
