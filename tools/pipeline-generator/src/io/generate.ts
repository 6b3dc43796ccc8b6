import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import {
  ConfigError,
  deployTargetFor,
  parseBuildkiteEnv,
  readWorkspaceConfig,
  readWorkspaceProjects,
  validateWorkspaceProjects,
  type ServiceConfig,
  type WorkspaceConfig,
} from '@engex/workspace-config';
import type { AffectedAnalysis, WorkspaceProject } from '../core/affected.js';
import { DEFAULT_API_DEADLINE_MS, nodeHttpGet, type HttpGet } from './buildkite-api.js';
import { UsageError } from '../core/errors.js';
import { Git } from './git.js';
import type { Pipeline, StepCommand } from '../core/pipeline.js';
import { normalizePlanOptions, planDetailed, type BaseSummary, type BuildContext, type PlanOptionsInput } from '../core/plan.js';
import { readAffected, readNxWorkspace, readProjectGraph, type ProjectGraph } from './nx-adapter.js';
import { readDeployedBase } from './deployed-base.js';
import { servicesByProject } from './services.js';
import { parseDeadlines } from '@engex/ci-lib';
import { MAX_JOBS_PER_UPLOAD, splitPipeline } from '../core/split.js';
import { selectBase, type BaseSelection } from './select-base.js';
import { renderSummary, type ServicePlan } from '../core/summary.js';
import { assertValidPipeline } from '../core/validate.js';

export interface GenerateOptions {
  /** The environment to read Buildkite's variables and NX_BASE/NX_HEAD from (the CLI passes `process.env`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Compare with this ref; wins over NX_BASE and every automatic rule. */
  base?: string;
  /** Compare up to this ref instead of HEAD (on Buildkite) or the working tree (locally). */
  head?: string;
  /** Run every project, whatever changed. */
  all?: boolean;
  /** Fail instead of running everything when no base can be established. Default false. */
  strictBase?: boolean;
  /** Buildkite REST client; default uses `fetch`. Tests inject a fake. */
  http?: HttpGet;
  /** Buildkite API base URL. Default https://api.buildkite.com. */
  apiUrl?: string;
  /** Planner options (targets, setup commands, timeouts); defaults in `normalizePlanOptions`. */
  plan?: PlanOptionsInput;
  /** Default 500, Buildkite's per-upload job limit. */
  maxJobsPerUpload?: number;
}

export interface GenerateResult {
  /** The whole pipeline, as a local runner executes it. */
  pipeline: Pipeline;
  /** The same steps in Buildkite-sized uploads, in upload order (usually one). */
  uploads: Pipeline[];
  base: BaseSelection | (BaseSummary & { rule: 'all'; commit: string });
  context: BuildContext;
  analysis: AffectedAnalysis;
  services: ServicePlan[];
  config: WorkspaceConfig;
  projects: WorkspaceProject[];
  /** Number of command steps (jobs) in `pipeline`. */
  jobs: number;
  /** Workspace root the pipeline was generated for. */
  root: string;
  /** The human summary; `explain` adds files and dependency paths per project. */
  summary: (explain: boolean) => string;
}

/** Reads the workspace, git and Buildkite's context, plans, splits and validates the pipeline. */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const { root, nxJson } = readNxWorkspace();
  const env = parseBuildkiteEnv(options.env);
  const gitDeadlineMs = parseDeadlines(options.env).gitMs;
  const git = new Git(root, options.env, gitDeadlineMs);
  const config = await readWorkspaceConfig(root);
  const defaultBranch = env.defaultBranch ?? nxJson.defaultBase ?? 'main';

  // The deployed commits may widen the base of these rules; any other base is final once chosen.
  const widens = (s: { rule: string }): boolean => env.branch !== undefined && (s.rule === 'parent-commit' || s.rule === 'last-passed-build');
  let earlyFiles: Promise<{ files: string[] } | { error: unknown }> | undefined;
  // Git work and the project graph are independent: overlap them, the changed-file list included.
  const [selected, { graph, services }, gitBranch] = await Promise.all([
    options.all
      ? allBase(git, options, env.nxHead)
      : selectBase({
          base: options.base,
          head: options.head,
          env,
          defaultBranch,
          isDeployBranch: (b) => deployTargetFor(b, config.deployTargets) !== undefined,
          strict: options.strictBase ?? false,
          git,
          http: options.http ?? nodeHttpGet,
          api: { deadlineMs: apiDeadlineMs(options.env) },
          apiUrl: options.apiUrl,
        }).then((s) => {
          if (s.base !== undefined && s.rule !== 'none' && !widens(s)) {
            // Settled here so a git failure waits for its turn below instead of going unhandled.
            earlyFiles = git.changedFiles(s.base, s.head).then(
              (files) => ({ files }),
              (error: unknown) => ({ error }),
            );
          }
          return s;
        }),
    readCheckedProjectGraph(root, config),
    env.branch === undefined ? currentBranch(git) : Promise.resolve(undefined),
  ]);

  const planOptions = normalizePlanOptions({ ...(await engexCiFor(root, graph.nodes)), ...options.plan });
  const everything = selected.rule === 'all' || selected.rule === 'none';
  const deployed =
    !everything && selected.base !== undefined && env.branch !== undefined && widens(selected)
      ? await readDeployedBase({
          git,
          services,
          branch: env.branch,
          commit: selected.commit,
          buildBase: selected.base,
          gitDeadlineMs,
          env: options.env,
        })
      : undefined;
  const base = deployed ? { ...selected, base: deployed.base, notes: [...selected.notes, ...deployed.notes, ...[...deployed.forced.values()].map((w) => `${w}.`)] } : selected;
  const compareWith = everything ? undefined : base.base;
  const { projects, analysis } = await readAffected(graph, nxJson, {
    ...(compareWith === undefined ? {} : { base: compareWith, changedFiles: await changedFiles(git, compareWith, base.head, earlyFiles) }),
    ...(deployed && deployed.forced.size > 0 ? { touched: deployed.forced } : {}),
    ...(base.head !== undefined ? { head: base.head } : {}),
    targets: planOptions.targets,
    allReason: base.rule === 'all' ? '--all' : `no base: ${base.reason}`,
  });

  const branch = env.branch ?? gitBranch;
  const context: BuildContext = {
    commit: base.commit,
    branch,
    pullRequest: env.pullRequest,
    tag: env.tag,
    defaultBranch,
  };
  const baseSummary: BaseSummary = {
    rule: base.rule,
    base: base.base,
    reason: base.reason,
    notes: base.notes,
  };
  const planned = planDetailed({ context, base: baseSummary, config, projects, services: servicesByProject(services, projects), analysis, options: planOptions });
  const uploads = splitPipeline(planned.pipeline, options.maxJobsPerUpload ?? MAX_JOBS_PER_UPLOAD);
  assertValidPipeline(uploads, options.maxJobsPerUpload ?? MAX_JOBS_PER_UPLOAD);

  return {
    pipeline: planned.pipeline,
    uploads,
    base,
    context,
    analysis,
    services: planned.services,
    config,
    projects,
    jobs: planned.jobs,
    root,
    summary: (explain) =>
      renderSummary({ base: baseSummary, context, trust: planned.trust, analysis, services: planned.services, jobs: planned.jobs, uploads: uploads.length, explain }),
  };
}

/**
 * The project graph, after every workspace package.json has been checked (JSON, `name`,
 * `nx.tags`, `nx.metadata.engex` by the service rules), and every service's config, resolved
 * there once. Nx reads those fields loosely: a string `nx.tags` loses the service tag and with it
 * the image and deploy steps, and invalid JSON is only "Failed to process project graph". The
 * manifests are read beside the graph (no added wall time) and their problems win over the
 * graph's error, because they name the file.
 */
async function readCheckedProjectGraph(root: string, config: WorkspaceConfig): Promise<{ graph: ProjectGraph; services: ServiceConfig[] }> {
  const [manifests, graph] = await Promise.allSettled([readWorkspaceProjects(root), readProjectGraph()]);
  if (manifests.status === 'rejected') throw manifests.reason;
  const services = validateWorkspaceProjects(config, manifests.value);
  if (graph.status === 'rejected') throw graph.reason;
  return { graph: graph.value.graph, services };
}

/** The list started while the graph loaded, else a fresh one. */
async function changedFiles(git: Git, base: string, head: string | undefined, early: Promise<{ files: string[] } | { error: unknown }> | undefined): Promise<string[]> {
  if (early === undefined) return git.changedFiles(base, head);
  const result = await early;
  if ('error' in result) throw result.error;
  return result.files;
}

/** ENGEX_PIPELINE_API_DEADLINE: seconds, the same form as engex-ci's ENGEX_CI_*_DEADLINE. */
export function apiDeadlineMs(env: Readonly<Record<string, string | undefined>>): number {
  const value = env['ENGEX_PIPELINE_API_DEADLINE'];
  if (value === undefined || value === '') return DEFAULT_API_DEADLINE_MS;
  const secondsValue = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(secondsValue > 0 && secondsValue <= 3600)) {
    throw new ConfigError([
      { file: 'environment', path: 'ENGEX_PIPELINE_API_DEADLINE', message: `expected seconds between 0 and 3600 (e.g. 30 or 1.5), got ${JSON.stringify(value)}` },
    ]);
  }
  return Math.round(secondsValue * 1000);
}

async function allBase(git: Git, options: GenerateOptions, nxHead: string | undefined): Promise<BaseSummary & { rule: 'all'; commit: string; head?: string }> {
  const headRef = options.head ?? nxHead;
  const commit = await git.resolveCommit(headRef ?? 'HEAD');
  if (commit === undefined) throw new UsageError(`${headRef ?? 'HEAD'} names no commit in this checkout.`);
  return { rule: 'all', commit, ...(headRef !== undefined ? { head: commit } : {}), reason: '--all: every project runs.', notes: [] };
}

async function currentBranch(git: Git): Promise<string | undefined> {
  const r = await git.tryRun(['symbolic-ref', '--short', '-q', 'HEAD']);
  return r.ok ? r.stdout.trim() || undefined : undefined;
}

/**
 * In a workspace that contains ci-lib itself, steps build its bundle and run it with node; in
 * one that installs it, `npx --no engex-ci` runs the installed bin.
 */
async function engexCiFor(
  root: string,
  nodes: Record<string, { name: string; data: { root: string; metadata?: Record<string, unknown>; targets?: Record<string, unknown> } }>,
): Promise<PlanOptionsInput> {
  const lib = Object.values(nodes).find((n) => (n.data.metadata?.['js'] as { packageName?: string } | undefined)?.packageName === '@engex/ci-lib');
  if (!lib) return {};
  let bin: unknown;
  try {
    bin = (JSON.parse(await readFile(join(root, lib.data.root, 'package.json'), 'utf8')) as { bin?: Record<string, unknown> }).bin?.['engex-ci'];
  } catch {
    return {};
  }
  if (typeof bin !== 'string') return {};
  const build = lib.data.targets?.['build'];
  const setup: StepCommand[] = build ? [{ kind: 'nx', nx: ['npx', 'nx'], project: lib.name, target: 'build', setup: true }] : [];
  const bundle = build ? bundleOf(build) : undefined;
  return { engexCi: ['node', posix.join(lib.data.root, bin)], engexCiSetup: setup, ...(bundle !== undefined ? { engexCiBundle: bundle } : {}) };
}

/**
 * The one file ci-lib's esbuild build writes (`outputPath`/`outputFileName`, every third-party
 * package bundled): what a build job can hand to jobs without node_modules. Anything else (another
 * executor, a split bundle) gives undefined, and those jobs install as before.
 */
function bundleOf(build: unknown): string | undefined {
  const target = build as { executor?: unknown; options?: { outputPath?: unknown; outputFileName?: unknown; thirdParty?: unknown; bundle?: unknown } };
  const o = target.options ?? {};
  if (target.executor !== '@nx/esbuild:esbuild' || o.bundle === false || o.thirdParty !== true) return undefined;
  if (typeof o.outputPath !== 'string' || typeof o.outputFileName !== 'string') return undefined;
  return posix.join(o.outputPath, o.outputFileName);
}
