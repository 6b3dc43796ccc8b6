import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { runInterruptCleanups } from '@engex/ci-lib';
import { findWorkspaceRoot, parseWorkspaceConfig } from '@engex/workspace-config';
import { commandSteps, type Pipeline } from '../core/pipeline.js';
import { Git } from '../io/git.js';
import { AgentStore } from './agent-store.js';
import { buildEnv, type LocalBuild, type QueueAgents } from './local-env.js';
import { ensureOpsRepo } from './ops-repo.js';
import { planLocalRun, trivyImageOf } from './plan-local-run.js';
import { LocalSetupError, findDocker, imagePresent, which } from './preflight.js';
import { writeGuardHooks } from './agent-guard-hooks.js';
import { defaultQueues, localSecrets, readQueueNames, trustedQueueNames } from './queues.js';
import { startRunRegistry } from './run-registry.js';
import { runSteps, type Agents, type RunResult } from './run-steps.js';
import { renderNotifications, renderSummary, runExitCode, type StepResult } from './render-summary.js';
import { reportAgents } from './report-agents.js';
import { StepSupervisor } from './supervisor.js';

const execFileAsync = promisify(execFile);

export interface LocalRunFlags {
  base?: string;
  head?: string;
  all: boolean;
  /** Stream every step's output to stderr, not only to its log file. */
  verbose: boolean;
  /** Unblock every block step (a deploy approval); without it they wait, and stop their dependents. */
  approve?: boolean;
  /** How the agents share caches; every job runs in a fresh clone whatever these say. */
  agents: AgentFlags;
  /** Run this typed pipeline (JSON of `Pipeline`) instead of generating one (`--pipeline`). */
  pipelineFile?: string;
}

export interface AgentFlags {
  /** The cache plugin's folder (`--deps-cache`); absent: a folder of this run, removed at its end. */
  depsCache?: string;
  /** The Nx cache every agent shares (`--nx-cache <dir>`), `off` (each agent's own), absent: a folder of this run. */
  nxCache?: string;
  /** `cold`: an empty npm download cache per job; `warm`: the machine's (`--npm-cache`, default warm). */
  npmCache: 'cold' | 'warm';
  /** Also write the per-step metrics and totals here, as JSON (`--metrics-json`). */
  metricsJson?: string;
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
  const { env, stderr } = options;
  const say = (line: string): void => void stderr.write(`${line}\n`);
  const clock = (): number => options.now().getTime();
  const root = findWorkspaceRoot(options.cwd, 'Run `engex-pipeline run --local` inside the workspace.');
  const state = env['ENGEX_LOCAL_STATE'] ? resolve(options.cwd, env['ENGEX_LOCAL_STATE']) : join(root, STATE_DIR);
  const started = options.now();

  const docker = await findDocker(env);
  say(`Docker engine ${docker.serverVersion}${docker.buildx ? '' : ' (no buildx: legacy builder, DOCKER_BUILDKIT=0)'}`);
  const dockerBin = await which('docker', env);
  if (dockerBin === undefined) throw new LocalSetupError('docker is not on PATH: the jobs run it.');
  const generated = await options.generate(options.flags, env);
  if (generated.summary) say(generated.summary.trimEnd());
  const git = async (args: string[]): Promise<string> => (await new Git(root, env).run(args)).trim();
  if ((await git(['status', '--porcelain', '--untracked-files=normal'])) !== '') {
    say(`Note: every agent clones ${generated.commit.slice(0, 12)}: uncommitted changes are not built (commit them first).`);
  }

  const agents = await prepareAgents(options.flags.agents, options.cwd);
  const supervisor = new StepSupervisor();
  const stops: (() => Promise<void>)[] = [];
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      // Second signal: stop waiting. Kill what we started, then die of the signal as usual. Only
      // synchronous cleanup runs before the process dies: the registry's (ci-lib registers a
      // SIGKILL and the removal of its folder) and the agents' temp clones.
      supervisor.kill('SIGKILL');
      runInterruptCleanups();
      rmSync(agents.root, { recursive: true, force: true });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.kill(process.pid, signal);
      return;
    }
    signalled = signal;
    say(`\n${signal}: stopping the running step and cleaning up (again to force)`);
    supervisor.interrupt();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const registry = await startRunRegistry(env, state, say, stops);
    const nodeImage = env['NODE_IMAGE'];
    if (nodeImage && !(await imagePresent(nodeImage, env))) say(`Note: NODE_IMAGE=${nodeImage} is not present locally; docker build will try to pull it.`);
    else if (!nodeImage) {
      say(
        'Note: NODE_IMAGE is not set: the image builds FROM the configured Node image, pulled from Docker Hub. ' +
          "Without Docker Hub, build a local base from this machine's Node: " +
          '`npx nx run @engex/e2e:build && export NODE_IMAGE=$(node tools/e2e/dist/engex-local-base.cjs)`.',
      );
    }
    const opsRepos: Record<string, string> = {};
    const presentImages = new Set<string>();
    for (const step of commandSteps(generated.pipeline)) {
      const trivy = trivyImageOf(step);
      if (trivy !== undefined && !presentImages.has(trivy) && (await imagePresent(trivy, env))) presentImages.add(trivy);
      if (step.meta.kind !== 'deploy') continue;
      const path = join(state, 'ops', `${step.meta.service}-ops.git`);
      const ops = await ensureOpsRepo(path, step.meta.service, step.meta.imageName, env);
      if (ops.created) say(`Ops repo ${path} created (stands in for ${step.meta.repo})`);
      opsRepos[step.meta.repo] = path;
    }

    const runId = `${started.toISOString().replace(/[:.]/g, '-')}-${generated.commit.slice(0, 7)}`;
    const runDir = join(state, 'runs', runId);
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, 'pipeline.json'), `${JSON.stringify(generated.pipeline, null, 2)}\n`);
    const build: LocalBuild = {
      workspaceRoot: root,
      commit: generated.commit,
      branch: generated.branch,
      defaultBranch: generated.defaultBranch,
      pullRequest: generated.pullRequest ?? 'false',
      registry,
      ...(nodeImage ? { nodeImage } : {}),
      buildx: docker.buildx,
      runDir,
    };
    const plan = planLocalRun(generated.pipeline, { uploadEnv: buildEnv(build), presentImages });
    const config: unknown = JSON.parse(await readFile(join(root, 'engex.config.json'), 'utf8').catch(() => '{}'));
    const names = readQueueNames(config);
    const queues = options.queues ?? (await localQueues());
    async function localQueues(): Promise<Record<string, QueueAgents>> {
      const guards = await writeGuardHooks({
        root,
        hostDir: join(runDir, 'agent-hosts'),
        config: parseWorkspaceConfig(config),
        defaultBranch: build.defaultBranch,
        repository: build.workspaceRoot,
        queues: trustedQueueNames(names),
        node: process.execPath,
      });
      if (guards === undefined) say('Note: this workspace ships no agent guard (libs/ci-lib/agent-hooks/pre-command): the trusted queues run unguarded.');
      return defaultQueues(names, localSecrets(opsRepos), guards ?? {});
    }
    say(`Running ${plan.steps.length} steps, each on a fresh agent (a clone of ${generated.commit.slice(0, 12)} under ${agents.root}); logs in ${runDir}\n`);

    const results = await runSteps(plan.steps, build, {
      ...options,
      agents,
      queues,
      store: new AgentStore(runDir),
      supervisor,
      runDir,
      say,
      clock,
      docker: dockerBin,
      signalled: () => signalled,
    });
    const annotations = (await readdir(join(runDir, 'annotations')).catch(() => [] as string[])).map((f) => join(runDir, 'annotations', f));
    const state_ = runExitCode(results) === 0 ? 'passed' : 'failed';
    const notifications = renderNotifications(plan.notify, state_, `build of ${generated.branch} at ${generated.commit.slice(0, 12)}`);
    const total = clock() - started.getTime();
    stderr.write(renderSummary({ commit: generated.commit, branch: generated.branch, registry, results, totalMs: total, notifications, annotations, runDir }));
    await reportAgents(agents, plan.steps, results, runDir, say, options.flags.agents.depsCache !== undefined, total);
    const statusBin = engexCiBin(generated.pipeline);
    if (statusBin && Object.keys(opsRepos).length > 0 && !signalled) {
      say(await readStatus(statusBin, join(state, 'ops', '{service}-ops.git'), root, { ...definedEnv(env), REGISTRY: registry }));
    }
    const code = runExitCode(results);
    if (signalled) return signalled === 'SIGINT' ? 130 : 143;
    return code;
  } finally {
    for (const stop of stops) await stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await rm(agents.root, { recursive: true, force: true });
  }
}

async function prepareAgents(flags: AgentFlags, cwd: string): Promise<Agents> {
  const root = await mkdtemp(join(tmpdir(), 'engex-agents-'));
  const depsCache = flags.depsCache !== undefined ? resolve(cwd, flags.depsCache) : join(root, 'deps-cache');
  const nxCache: Agents['nxCache'] =
    flags.nxCache === 'off' ? { kind: 'off' } : { kind: 'directory', dir: flags.nxCache !== undefined ? resolve(cwd, flags.nxCache) : join(root, 'nx-cache') };
  await mkdir(depsCache, { recursive: true });
  if (nxCache.kind === 'directory') await mkdir(nxCache.dir, { recursive: true });
  return { root, depsCache, nxCache, npmCache: flags.npmCache, ...(flags.metricsJson !== undefined ? { metricsJson: resolve(cwd, flags.metricsJson) } : {}) };
}

/** The `engex-ci` argv the pipeline's steps use (local runs build that bundle in their setup step). */
function engexCiBin(pipeline: Pipeline): readonly string[] | undefined {
  for (const step of commandSteps(pipeline)) {
    for (const c of step.commands) if (c.kind === 'engex-ci') return c.bin;
  }
  return undefined;
}

function definedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/**
 * `engex-ci status` against the local ops repos: what the run deployed where. It always exits 0
 * and reads each source under a deadline, so it never changes the run's result.
 */
async function readStatus(bin: readonly string[], opsRepo: string, cwd: string, env: Record<string, string>): Promise<string> {
  const argv = [...bin, 'status', '--ops-repo', opsRepo];
  const heading = `\nStatus (${argv.slice(-4).join(' ')}):`;
  try {
    const { stdout } = await execFileAsync(argv[0] as string, argv.slice(1), { cwd, env, timeout: 60_000 });
    return `${heading}\n${stdout.trimEnd()}`;
  } catch (error) {
    return `${heading} could not run: ${(error as Error).message.split('\n')[0]}`;
  }
}

export type { RunResult, StepResult };
