import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocalRegistry as startRegistry, type LocalRegistry as RunningRegistry } from '@engex/ci-lib';
import { findWorkspaceRoot } from '@engex/workspace-config';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { commandSteps, type Pipeline } from '../core/pipeline.js';
import { Git } from '../io/git.js';
import { collectArtifacts } from './artifacts.js';
import { StepSupervisor, executeStep } from './execute-step.js';
import { buildStepEnv, freshAgentEnv, type AgentNxCache, type LocalBuild } from './local-env.js';
import { agentTotals, parseNxTasks, renderAgentReport, type AgentStepMetrics } from './agent-metrics.js';
import { cloneAgent } from './fresh-agent.js';
import { ensureOpsRepo } from './ops-repo.js';
import { planLocalRun, type LocalStep } from './plan-local-run.js';
import { LocalSetupError, findDocker, imagePresent, registryAnswers, which } from './preflight.js';
import { formatDuration, renderNotifications, renderStepEnd, renderStepStart, renderSummary, runExitCode, type StepResult } from './render-summary.js';

const execFileAsync = promisify(execFile);

export interface LocalRunFlags {
  base?: string;
  head?: string;
  all: boolean;
  /** Stream every step's output to stderr, not only to its log file. */
  verbose: boolean;
  /** Unblock every block step (a deploy approval); without it they wait, and stop their dependents. */
  approve?: boolean;
  /** Run every step as an ephemeral Buildkite agent would (`--fresh-agents`). */
  freshAgents?: FreshAgentsFlags;
  /** Run this typed pipeline (JSON of `Pipeline`) instead of generating one (`--pipeline`). */
  pipelineFile?: string;
}

export interface FreshAgentsFlags {
  /** The cache plugin's folder (`--deps-cache`); absent: a folder of this run, removed at its end. */
  depsCache?: string;
  /** The Nx cache every agent shares (`--nx-cache <dir>`), `off` (each agent's own), absent: a folder of this run. */
  nxCache?: string;
  /** `cold`: an empty npm download cache per job; `warm`: the machine's (`--npm-cache`, default warm). */
  npmCache: 'cold' | 'warm';
  /** Also write the per-step metrics and totals here, as JSON (`--metrics-json`). */
  metricsJson?: string;
}

/** A fresh-agents run's parts, normalized: every folder exists. */
interface FreshAgents {
  /** Temporary folder of this run's clones (and default caches); removed at the end. */
  root: string;
  depsCache: string;
  nxCache: AgentNxCache;
  npmCache: 'cold' | 'warm';
  metricsJson?: string;
}

/** What `generate` produced, for the working tree against the base. */
export interface LocalGenerated {
  pipeline: Pipeline;
  /** The commit the pipeline is for: images are tagged with it. */
  commit: string;
  /** The branch the pipeline was planned for (deploy targets follow it). */
  branch: string;
  /** The default branch the generator assumed (BUILDKITE_PIPELINE_DEFAULT_BRANCH of the steps). */
  defaultBranch: string;
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
  /** Progress, the summary and (verbose) every step's output. */
  stderr: TextSink;
  now: () => Date;
}

/** Folder for the registry storage, the ops repos and every run's logs; gitignored. */
export const STATE_DIR = '.engex-local';

/**
 * Runs the generated pipeline on this machine and returns the exit status: 0 when every step
 * passed or was skipped with a reason, else the first failing step's status (3 for an immutable
 * tag conflict), 130/143 when interrupted.
 */
export async function runLocal(options: RunLocalOptions): Promise<number> {
  const { env, stderr } = options;
  const say = (line: string): void => void stderr.write(`${line}\n`);
  const root = findWorkspaceRoot(options.cwd, 'Run `engex-pipeline run --local` inside the workspace.');
  const state = env['ENGEX_LOCAL_STATE'] ? resolve(options.cwd, env['ENGEX_LOCAL_STATE']) : join(root, STATE_DIR);
  const started = options.now();

  const docker = await findDocker(env);
  say(`Docker engine ${docker.serverVersion}${docker.buildx ? '' : ' (no buildx: legacy builder, DOCKER_BUILDKIT=0)'}`);

  const generated = await options.generate(options.flags, env);
  if (generated.summary) say(generated.summary.trimEnd());

  const repo = new Git(root, env);
  const git = async (args: string[]): Promise<string> => (await repo.run(args)).trim();
  const head = await git(['rev-parse', 'HEAD']);
  // Fresh agents clone the commit, so any commit works; otherwise the steps run in this checkout.
  if (generated.commit !== head && !options.flags.freshAgents) {
    throw new LocalSetupError(
      `The pipeline is for ${generated.commit.slice(0, 12)} but this checkout is at ${head.slice(0, 12)}: the steps run in this checkout, ` +
        'so the images would carry the wrong commit. Check out that commit first, or drop --head.',
    );
  }
  const commitTime = await git(['log', '-1', '--format=%ct', generated.commit]);
  const buildsImages = generated.pipeline.steps.some((s) => s.type === 'group' && s.steps.some((c) => c.meta.kind === 'image'));
  const dirty = (buildsImages || options.flags.freshAgents) && (await git(['status', '--porcelain', '--untracked-files=normal'])) !== '';
  if (dirty && options.flags.freshAgents) {
    say(`Note: fresh agents clone ${generated.commit.slice(0, 12)}: uncommitted changes are not built (commit them first).`);
  } else if (dirty) {
    say(
      `Note: uncommitted changes are built too, and tagged ${generated.commit.slice(0, 12)} like HEAD. Registry tags are immutable: ` +
        `a later run with different changes on the same commit fails the push (commit, or delete ${join(state, 'registry')}).`,
    );
  }

  const fresh = options.flags.freshAgents ? await prepareFreshAgents(options.flags.freshAgents, options.cwd) : undefined;
  const registries: RunningRegistry[] = [];
  const supervisor = new StepSupervisor();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      // Second signal: stop waiting. Kill what we started, then die of the signal as usual.
      supervisor.kill('SIGKILL');
      for (const r of registries) void r.stop();
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
    let registry: string;
    if (env['REGISTRY']) {
      registry = env['REGISTRY'];
      if (!(await registryAnswers(registry))) {
        throw new LocalSetupError(
          `REGISTRY=${registry} does not answer http://${registry}/v2/. Start a registry there, or unset REGISTRY ` +
            "to let the local run start Debian's docker-registry (`apt-get install docker-registry`) on a free port.",
        );
      }
      say(`Registry ${registry} (from REGISTRY)`);
    } else {
      let started: RunningRegistry;
      try {
        started = await startRegistry({ storageDir: join(state, 'registry') });
      } catch (error) {
        throw new LocalSetupError(
          `Could not start a local registry: ${(error as Error).message}\n` +
            "Install Debian's registry (`apt-get install docker-registry`, binary /usr/bin/docker-registry), " +
            'or run any OCI registry and pass REGISTRY=host:port.',
          { cause: error },
        );
      }
      registries.push(started);
      registry = started.host;
      say(`Registry ${registry} started (docker-registry, storage ${started.storageDir}); stopped when the run ends`);
    }

    const nodeImage = env['NODE_IMAGE'];
    if (nodeImage && !(await imagePresent(nodeImage, env))) {
      say(`Note: NODE_IMAGE=${nodeImage} is not present locally; docker build will try to pull it.`);
    } else if (!nodeImage) {
      say(
        'Note: NODE_IMAGE is not set: the image builds FROM the configured Node image, pulled from Docker Hub. ' +
          "Without Docker Hub, build a local base from this machine's Node: " +
          '`npx nx run @engex/e2e:build && export NODE_IMAGE=$(node tools/e2e/dist/engex-local-base.cjs)`.',
      );
    }

    const trivy = await which('trivy', env);
    const opsRepos: Record<string, string> = {};
    for (const step of generated.pipeline.steps.flatMap((s) => (s.type === 'group' ? s.steps : [s]))) {
      if (step.meta.kind !== 'deploy') continue;
      const path = join(state, 'ops', `${step.meta.service}-ops.git`);
      const ops = await ensureOpsRepo(path, step.meta.service, step.meta.imageName, env);
      if (ops.created) say(`Ops repo ${path} created (stands in for ${step.meta.repo})`);
      opsRepos[step.meta.service] = path;
    }

    const plan = planLocalRun(generated.pipeline, { registry, ...(trivy ? { trivy } : {}), opsRepos, ...(fresh ? { freshAgents: true } : {}) });
    const runId = `${started.toISOString().replace(/[:.]/g, '-')}-${generated.commit.slice(0, 7)}`;
    const runDir = join(state, 'runs', runId);
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, 'pipeline.json'), `${JSON.stringify(generated.pipeline, null, 2)}\n`);
    const build: LocalBuild = {
      workspaceRoot: root,
      commit: generated.commit,
      branch: generated.branch,
      defaultBranch: generated.defaultBranch,
      commitTime,
      registry,
      ...(nodeImage ? { nodeImage } : {}),
      buildx: docker.buildx,
      runDir,
    };
    say(`Running ${plan.steps.length} steps${fresh ? `, each on a fresh agent (a clone of ${generated.commit.slice(0, 12)} under ${fresh.root})` : ''}; logs in ${runDir}\n`);

    const results = await runSteps(plan.steps, build, { ...options, supervisor, runDir, say, signalled: () => signalled, ...(fresh ? { fresh } : {}) });
    const annotations = [...new Set(results.flatMap((r) => r.annotations))];
    const state_ = runExitCode(results) === 0 ? 'passed' : 'failed';
    const notifications = renderNotifications(plan.notify, state_, `build of ${generated.branch} at ${generated.commit.slice(0, 12)}`);
    const total = options.now().getTime() - started.getTime();
    stderr.write(renderSummary({ commit: generated.commit, branch: generated.branch, registry, results, totalMs: total, notifications, annotations, runDir }));
    if (fresh) await reportAgents(fresh, plan.steps, results, runDir, say, options.flags.freshAgents?.depsCache !== undefined, total);
    const statusBin = engexCiBin(generated.pipeline);
    if (statusBin && Object.keys(opsRepos).length > 0 && !signalled) {
      say(await readStatus(statusBin, join(state, 'ops', '{service}-ops.git'), root, { ...definedEnv(env), REGISTRY: registry }));
    }
    const code = runExitCode(results);
    if (signalled) return signalled === 'SIGINT' ? 130 : 143;
    return code;
  } finally {
    for (const r of registries) await r.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (fresh) await rm(fresh.root, { recursive: true, force: true });
  }
}

async function prepareFreshAgents(flags: FreshAgentsFlags, cwd: string): Promise<FreshAgents> {
  const root = await mkdtemp(join(tmpdir(), 'engex-agents-'));
  const depsCache = flags.depsCache !== undefined ? resolve(cwd, flags.depsCache) : join(root, 'deps-cache');
  const nxCache: AgentNxCache =
    flags.nxCache === 'off' ? { kind: 'off' } : { kind: 'directory', dir: flags.nxCache !== undefined ? resolve(cwd, flags.nxCache) : join(root, 'nx-cache') };
  await mkdir(depsCache, { recursive: true });
  if (nxCache.kind === 'directory') await mkdir(nxCache.dir, { recursive: true });
  return { root, depsCache, nxCache, npmCache: flags.npmCache, ...(flags.metricsJson !== undefined ? { metricsJson: resolve(cwd, flags.metricsJson) } : {}) };
}

type RunResult = StepResult & { annotations: string[]; agent?: AgentStepMetrics };

/** The fresh-agents table and totals, on stderr and as JSON (run folder, and `--metrics-json`). */
async function reportAgents(
  fresh: FreshAgents,
  steps: readonly LocalStep[],
  results: readonly RunResult[],
  runDir: string,
  say: (line: string) => void,
  keptDeps: boolean,
  elapsedMs: number,
): Promise<void> {
  const byKey = new Map(steps.map((s) => [s.key, s]));
  const measured = results
    .filter((r): r is RunResult & { agent: AgentStepMetrics } => r.agent !== undefined)
    .map((r) => ({ ...r.agent, dependsOn: byKey.get(r.key)?.dependsOn ?? [] }));
  const totals = agentTotals(measured);
  const depsCache = keptDeps ? fresh.depsCache : `${fresh.depsCache} (this run's)`;
  const nxCache = fresh.nxCache.kind === 'off' ? "off (each agent's own)" : fresh.nxCache.dir;
  say(renderAgentReport({ steps: measured, totals, npmCache: fresh.npmCache, depsCache, nxCache }).trimEnd());
  say(`  steps ran one at a time here: elapsed ${formatDuration(elapsedMs)}; the critical path is what a fleet with free agents would take`);
  const json = `${JSON.stringify({ npmCache: fresh.npmCache, depsCache: fresh.depsCache, nxCache, elapsedMs, totals, steps: measured }, null, 2)}\n`;
  await writeFile(join(runDir, 'agents.json'), json);
  if (fresh.metricsJson) await writeFile(fresh.metricsJson, json);
}

interface RunStepsContext extends RunLocalOptions {
  supervisor: StepSupervisor;
  runDir: string;
  say: (line: string) => void;
  signalled: () => NodeJS.Signals | undefined;
  fresh?: FreshAgents;
}

async function runSteps(steps: readonly LocalStep[], build: LocalBuild, ctx: RunStepsContext): Promise<RunResult[]> {
  const results: RunResult[] = [];
  const ranOnce = new Set<string>();
  const byKey = new Map<string, StepResult>();
  for (const [i, step] of steps.entries()) {
    const base = { key: step.key, label: step.label, annotations: [] as string[] };
    const push = (r: RunResult): void => {
      results.push(r);
      byKey.set(r.key, r);
    };
    if (ctx.signalled()) {
      push({ ...base, status: 'blocked', durationMs: 0, note: 'run interrupted' });
      continue;
    }
    const failedDep = step.dependsOn.map((d) => byKey.get(d)).find((r) => r && r.status !== 'passed' && r.status !== 'skipped');
    if (failedDep) {
      const why = failedDep.status === 'blocked' ? 'not run' : failedDep.status === 'waiting' ? 'waiting for approval' : failedDep.status;
      push({ ...base, status: 'blocked', durationMs: 0, note: `needs ${failedDep.key} (${why})` });
      ctx.say(renderStepEnd(results[results.length - 1]!));
      continue;
    }
    ctx.say(renderStepStart(i + 1, steps.length, step.label, step.key));
    for (const n of step.notes) ctx.say(`    ${n}`);
    if (step.block !== undefined) {
      for (const l of step.block.split('\n')) ctx.say(`    ${l}`);
      push(
        ctx.flags.approve
          ? { ...base, status: 'passed', durationMs: 0, note: 'approved (--approve)' }
          : { ...base, status: 'waiting', durationMs: 0, note: 'waiting for approval: rerun with --approve to unblock' },
      );
      ctx.say(renderStepEnd(results[results.length - 1]!));
      continue;
    }
    if (step.skip !== undefined) {
      push({ ...base, status: 'skipped', durationMs: 0, note: step.skip });
      ctx.say(renderStepEnd(results[results.length - 1]!));
      continue;
    }
    const safeKey = step.key.replace(/[^A-Za-z0-9._-]/g, '_');
    const logFile = join(ctx.runDir, 'logs', `${safeKey}.log`);
    const t0 = ctx.now().getTime();
    const ticker = startTicker(ctx, step, t0);
    // A fresh agent: its own clone of the commit, and (cold) its own empty npm download cache.
    const agentDir = ctx.fresh ? join(ctx.fresh.root, 'agents', `${String(i + 1).padStart(3, '0')}-${safeKey}`) : undefined;
    const agentBuild = agentDir ? { ...build, workspaceRoot: join(agentDir, 'checkout') } : build;
    let checkoutMs = 0;
    const outcome = await (async () => {
      let env = ctx.env;
      if (ctx.fresh && agentDir) {
        const npmCacheDir = ctx.fresh.npmCache === 'cold' ? join(agentDir, 'npm-cache') : undefined;
        const nxCacheDir = ctx.fresh.nxCache.kind === 'directory' ? ctx.fresh.nxCache.dir : join(agentDir, 'nx');
        env = freshAgentEnv(ctx.env, { nxCacheDir, ...(npmCacheDir ? { npmCacheDir } : {}) });
        try {
          await cloneAgent(build.workspaceRoot, build.commit, agentBuild.workspaceRoot, definedEnv(ctx.env));
        } catch (error) {
          const note = `fresh clone of ${build.commit.slice(0, 12)} failed: ${(error as Error).message.split('\n')[0]}`;
          return { status: 'failed' as const, exitCode: 4, note, annotations: [], install: { kind: 'none' as const, ms: 0, saveMs: 0 } };
        }
        checkoutMs = ctx.now().getTime() - t0;
      }
      return executeStep(step, {
        cwd: agentBuild.workspaceRoot,
        env: buildStepEnv(env, agentBuild, step),
        logFile,
        annotationsDir: join(ctx.runDir, 'annotations'),
        metaDataDir: join(ctx.runDir, 'meta-data'),
        supervisor: ctx.supervisor,
        ranOnce: ctx.fresh ? new Set<string>() : ranOnce,
        ...(ctx.fresh ? { depsCache: ctx.fresh.depsCache, artifactStore: join(ctx.runDir, 'artifacts') } : {}),
        ...(ctx.flags.verbose ? { echo: ctx.stderr } : {}),
      });
    })().finally(() => ticker());
    if (step.artifactPaths.length > 0) await collectArtifacts(agentBuild.workspaceRoot, step.artifactPaths, join(ctx.runDir, 'artifacts'));
    const durationMs = ctx.now().getTime() - t0;
    let agent: AgentStepMetrics | undefined;
    if (ctx.fresh && agentDir) {
      const nx = parseNxTasks(await readFile(logFile, 'utf8').catch(() => ''));
      agent = {
        key: step.key,
        label: step.label,
        status: outcome.status,
        wallMs: durationMs,
        checkoutMs,
        install: outcome.install.kind,
        installMs: outcome.install.ms,
        saveMs: outcome.install.saveMs,
        nxExecuted: nx.executed,
        nxCached: nx.cached,
      };
      // Agents are ephemeral: nothing of this one is left for the next step but what it uploaded and saved.
      await rm(agentDir, { recursive: true, force: true });
    }
    push({
      ...(agent ? { agent } : {}),
      ...base,
      status: outcome.status,
      durationMs,
      ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
      ...(outcome.note !== undefined ? { note: outcome.note } : {}),
      log: logFile,
      annotations: outcome.annotations,
    });
    ctx.say(renderStepEnd(results[results.length - 1]!));
    if (outcome.status === 'failed' && !ctx.flags.verbose) ctx.say(await tail(logFile, 25));
  }
  return results;
}

/** Elapsed time while a step runs: a rewritten line on a terminal, a line every 30 s otherwise. */
function startTicker(ctx: RunStepsContext, step: LocalStep, t0: number): () => void {
  if (ctx.flags.verbose) return () => undefined;
  const tty = ctx.stderr.isTTY === true;
  const every = tty ? 1000 : 30_000;
  const timer = setInterval(() => {
    const elapsed = formatDuration(ctx.now().getTime() - t0);
    if (tty) ctx.stderr.write(`\r    running ${step.label}: ${elapsed} `);
    else ctx.say(`    still running ${step.label}: ${elapsed}`);
  }, every);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (tty) ctx.stderr.write('\r\x1b[K');
  };
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

async function tail(file: string, lines: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const last = text.trimEnd().split('\n').slice(-lines);
  return `    ┌ last ${last.length} lines of ${file}\n${last.map((l) => `    │ ${l}`).join('\n')}\n    └`;
}

export type { StepResult };
