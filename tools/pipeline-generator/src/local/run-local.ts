import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findWorkspaceRoot, parseWorkspaceConfig } from '@engex/workspace-config';
import type { Pipeline } from '../core/pipeline.js';
import type { Selection } from '../cli-args.js';
import { Git } from '../io/git.js';
import { writeGuardHooks } from './agent-guard-hooks.js';
import type { AgentFlags } from './agents.js';
import { openLocalInfra, type LocalInfra } from './local-infra.js';
import { buildEnv, type LocalBuild, type QueueAgents } from './local-env.js';
import { planLocalRun, type LocalRunPlan } from './plan-local-run.js';
import { LocalSetupError, findDocker, imagePresent, which } from './preflight.js';
import { defaultQueues, localSecrets, readQueueNames, trustedQueueNames } from './queues.js';
import { renderNotifications, renderSummary, runExitCode, type StepResult } from './render-summary.js';
import { reportAgents } from './report-agents.js';
import { engexCiBin, readStatus } from './run-status.js';
import { runSteps, type RunResult } from './run-steps.js';

/** `run --local`'s flags, normalized: `--base`/`--head`/`--all` as for `generate`. */
export interface LocalRunFlags extends Selection {
  /** Stream every step's output to stderr, not only to its log file. */
  verbose: boolean;
  /** Unblock every block step (a deploy approval); without it they wait, and stop their dependents. */
  approve: boolean;
  /** How the agents share caches; every job runs in a fresh clone whatever these say. */
  agents: AgentFlags;
  /** Run this typed pipeline (JSON of `Pipeline`) instead of generating one (`--pipeline`). */
  pipelineFile?: string;
}

/** What `generate` produced, for the working tree against the base. */
export interface LocalGenerated {
  pipeline: Pipeline;
  /** The commit the pipeline is for: every agent clones it. */
  commit: string;
  /** The branch the pipeline was planned for (deploy targets follow it). */
  branch: string;
  /** The default branch the generator assumed (BUILDKITE_PIPELINE_DEFAULT_BRANCH of the steps). */
  defaultBranch: string;
  /** BUILDKITE_PULL_REQUEST of the build the pipeline was planned for (default `false`). */
  pullRequest?: string;
  /** The generator's human summary (base, affected projects), printed first. */
  summary: string;
}

/** Where text goes: a process stream, or anything with `write`. */
export interface TextSink {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
}

export interface RunLocalOptions {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  flags: LocalRunFlags;
  /** The same generation `engex-pipeline generate` does, given the same flags. */
  generate: (flags: LocalRunFlags, env: Readonly<Record<string, string | undefined>>) => Promise<LocalGenerated>;
  /** argv that runs the local `buildkite-agent` (the CLI's own script with its agent entry). */
  agentCommand: readonly string[];
  /** Queue name → its agents' secrets and hooks; absent: the local defaults (queues.ts). */
  queues?: Readonly<Record<string, QueueAgents>>;
  /** Progress, the summary and (verbose) every step's output. */
  stderr: TextSink;
  now: () => Date;
}

/** Folder for the registry storage, the ops repos and every run's logs; gitignored. */
export const STATE_DIR = '.engex-local';

/**
 * Runs the generated pipeline on this machine, every job in a fresh clone of the commit, and
 * returns the exit status: 0 when every step passed or was skipped with a reason, else the first
 * failing step's status, 130/143 when interrupted.
 */
export async function runLocal(options: RunLocalOptions): Promise<number> {
  const { env, flags } = options;
  const say = (line: string): void => void options.stderr.write(`${line}\n`);
  const started = options.now();
  const root = findWorkspaceRoot(options.cwd, 'Run `engex-pipeline run --local` inside the workspace.');
  const state = env['ENGEX_LOCAL_STATE'] ? resolve(options.cwd, env['ENGEX_LOCAL_STATE']) : join(root, STATE_DIR);
  const docker = await checkDocker(env, say);
  const generated = await options.generate(flags, env);
  if (generated.summary) say(generated.summary.trimEnd());
  if ((await new Git(root, env).run(['status', '--porcelain', '--untracked-files=normal'])).trim() !== '') {
    say(`Note: every agent clones ${generated.commit.slice(0, 12)}: uncommitted changes are not built (commit them first).`);
  }
  const infra = await openLocalInfra({ env, cwd: options.cwd, state, repo: root, commit: generated.commit, agentFlags: flags.agents, pipeline: generated.pipeline, say });
  try {
    await noteNodeImage(env, say);
    const { build, plan, queues } = await prepareRun({
      root,
      state,
      generated,
      infra,
      buildx: docker.buildx,
      env,
      queues: options.queues,
      say,
      runId: runIdOf(started, generated.commit),
    });
    say(`Running ${plan.steps.length} steps, each on a fresh agent (a clone of ${generated.commit.slice(0, 12)} under ${infra.agents.root}); logs in ${build.runDir}\n`);
    const clock = (): number => options.now().getTime();
    const results = await runSteps(plan.steps, {
      env,
      build,
      infra,
      queues,
      agentCommand: options.agentCommand,
      docker: docker.bin,
      approve: flags.approve,
      verbose: flags.verbose,
      stderr: options.stderr,
      say,
      clock,
    });
    await report({
      generated,
      build,
      plan,
      results,
      infra,
      state,
      env,
      say,
      stderr: options.stderr,
      totalMs: clock() - started.getTime(),
      metricsJson: flags.agents.metricsJson !== undefined ? resolve(options.cwd, flags.agents.metricsJson) : undefined,
    });
    const signalled = infra.signalled();
    if (signalled) return signalled === 'SIGINT' ? 130 : 143;
    return runExitCode(results);
  } finally {
    await infra.close();
  }
}

/** The engine answers, and the jobs' `docker` is on PATH. */
async function checkDocker(env: RunLocalOptions['env'], say: (line: string) => void): Promise<{ bin: string; buildx: boolean }> {
  const docker = await findDocker(env);
  say(`Docker engine ${docker.serverVersion}${docker.buildx ? '' : ' (no buildx: legacy builder, DOCKER_BUILDKIT=0)'}`);
  const bin = await which('docker', env);
  if (bin === undefined) throw new LocalSetupError('docker is not on PATH: the jobs run it.');
  return { bin, buildx: docker.buildx };
}

async function noteNodeImage(env: RunLocalOptions['env'], say: (line: string) => void): Promise<void> {
  const nodeImage = env['NODE_IMAGE'];
  if (nodeImage && !(await imagePresent(nodeImage, env))) say(`Note: NODE_IMAGE=${nodeImage} is not present locally; docker build will try to pull it.`);
  else if (!nodeImage) {
    say(
      'Note: NODE_IMAGE is not set: the image builds FROM the configured Node image, pulled from Docker Hub. ' +
        "Without Docker Hub, build a local base from this machine's Node: " +
        '`npx nx run @engex/e2e:build && export NODE_IMAGE=$(node tools/e2e/dist/engex-local-base.cjs)`.',
    );
  }
}

/** A run's folder name: when it started and the commit. */
function runIdOf(started: Date, commit: string): string {
  return `${started.toISOString().replace(/[:.]/g, '-')}-${commit.slice(0, 7)}`;
}

interface PrepareRunInput {
  root: string;
  state: string;
  generated: LocalGenerated;
  infra: LocalInfra;
  buildx: boolean;
  env: RunLocalOptions['env'];
  queues: RunLocalOptions['queues'];
  say: (line: string) => void;
  runId: string;
}

/** The run's folder, the build the agents see, the plan of what each step runs, and the queues' agents. */
async function prepareRun(i: PrepareRunInput): Promise<{ build: LocalBuild; plan: LocalRunPlan; queues: Readonly<Record<string, QueueAgents>> }> {
  const runDir = join(i.state, 'runs', i.runId);
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, 'pipeline.json'), `${JSON.stringify(i.generated.pipeline, null, 2)}\n`);
  const build: LocalBuild = {
    workspaceRoot: i.root,
    commit: i.generated.commit,
    branch: i.generated.branch,
    defaultBranch: i.generated.defaultBranch,
    pullRequest: i.generated.pullRequest ?? 'false',
    registry: i.infra.registry,
    nodeImage: i.env['NODE_IMAGE'] || undefined,
    buildx: i.buildx,
    runDir,
  };
  const plan = planLocalRun(i.generated.pipeline, { uploadEnv: buildEnv(build), presentImages: i.infra.presentImages });
  return { build, plan, queues: i.queues ?? (await localQueues(i, build)) };
}

/** The local defaults (queues.ts), the trusted queues guarded by the workspace's agent guard. */
async function localQueues(i: PrepareRunInput, build: LocalBuild): Promise<Record<string, QueueAgents>> {
  const config: unknown = JSON.parse(await readFile(join(i.root, 'engex.config.json'), 'utf8').catch(() => '{}'));
  const names = readQueueNames(config);
  const guards = await writeGuardHooks({
    root: i.root,
    hostDir: join(build.runDir, 'agent-hosts'),
    config: parseWorkspaceConfig(config),
    defaultBranch: build.defaultBranch,
    repository: build.workspaceRoot,
    queues: trustedQueueNames(names),
    node: process.execPath,
  });
  if (guards === undefined) i.say('Note: this workspace ships no agent guard (libs/ci-lib/agent-hooks/pre-command): the trusted queues run unguarded.');
  return defaultQueues(names, localSecrets(i.infra.opsRepos), guards ?? {});
}

interface ReportInput {
  generated: LocalGenerated;
  build: LocalBuild;
  plan: LocalRunPlan;
  results: readonly RunResult[];
  infra: LocalInfra;
  state: string;
  env: RunLocalOptions['env'];
  say: (line: string) => void;
  stderr: TextSink;
  totalMs: number;
  metricsJson: string | undefined;
}

/** The summary table, the notifications, the agents' figures and, after deploys, what runs where. */
async function report(r: ReportInput): Promise<void> {
  const { generated, build, infra } = r;
  const annotations = (await readdir(join(build.runDir, 'annotations')).catch(() => [] as string[])).map((f) => join(build.runDir, 'annotations', f));
  const outcome = runExitCode(r.results) === 0 ? 'passed' : 'failed';
  const notifications = renderNotifications(r.plan.notify, outcome, `build of ${generated.branch} at ${generated.commit.slice(0, 12)}`);
  r.stderr.write(
    renderSummary({
      commit: generated.commit,
      branch: generated.branch,
      registry: build.registry,
      results: r.results,
      totalMs: r.totalMs,
      notifications,
      annotations,
      runDir: build.runDir,
    }),
  );
  await reportAgents({ caches: infra.agents.caches, steps: r.plan.steps, results: r.results, runDir: build.runDir, say: r.say, elapsedMs: r.totalMs, metricsJson: r.metricsJson });
  const statusBin = engexCiBin(generated.pipeline);
  if (statusBin && Object.keys(infra.opsRepos).length > 0 && !infra.signalled()) {
    r.say(await readStatus(statusBin, join(r.state, 'ops', '{service}-ops.git'), build.workspaceRoot, { ...definedEnv(r.env), REGISTRY: build.registry }));
  }
}

function definedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export type { RunResult, StepResult };
