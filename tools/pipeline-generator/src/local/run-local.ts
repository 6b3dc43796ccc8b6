import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startLocalRegistry as startRegistry, type LocalRegistry as RunningRegistry } from '@engex/ci-lib';
import { findWorkspaceRoot } from '@engex/workspace-config';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { commandSteps, type Pipeline } from '../core/pipeline.js';
import { Git } from '../io/git.js';
import { collectArtifacts } from './artifacts.js';
import { StepSupervisor, executeStep } from './execute-step.js';
import { buildStepEnv, type LocalBuild } from './local-env.js';
import { ensureOpsRepo } from './ops-repo.js';
import { planLocalRun, type LocalStep } from './plan-local-run.js';
import { LocalSetupError, findDocker, imagePresent, registryAnswers, which } from './preflight.js';
import {
  formatDuration,
  renderNotifications,
  renderStepEnd,
  renderStepStart,
  renderSummary,
  runExitCode,
  type StepResult,
} from './render-summary.js';

const execFileAsync = promisify(execFile);

export interface LocalRunFlags {
  base?: string;
  head?: string;
  all: boolean;
  /** Stream every step's output to stderr, not only to its log file. */
  verbose: boolean;
  /** Unblock every block step (a deploy approval); without it they wait, and stop their dependents. */
  approve?: boolean;
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
  if (generated.commit !== head) {
    throw new LocalSetupError(
      `The pipeline is for ${generated.commit.slice(0, 12)} but this checkout is at ${head.slice(0, 12)}: the steps run in this checkout, ` +
        'so the images would carry the wrong commit. Check out that commit first, or drop --head.',
    );
  }
  const commitTime = await git(['log', '-1', '--format=%ct', generated.commit]);
  const buildsImages = generated.pipeline.steps.some((s) => s.type === 'group' && s.steps.some((c) => c.meta.kind === 'image'));
  const dirty = buildsImages && (await git(['status', '--porcelain', '--untracked-files=normal'])) !== '';
  if (dirty) {
    say(
      `Note: uncommitted changes are built too, and tagged ${generated.commit.slice(0, 12)} like HEAD. Registry tags are immutable: ` +
        `a later run with different changes on the same commit fails the push (commit, or delete ${join(state, 'registry')}).`,
    );
  }

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
            'to let the local run start Debian\'s docker-registry (`apt-get install docker-registry`) on a free port.',
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
            'Install Debian\'s registry (`apt-get install docker-registry`, binary /usr/bin/docker-registry), ' +
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
          'Without Docker Hub, build a local base from this machine\'s Node: ' +
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

    const plan = planLocalRun(generated.pipeline, { registry, ...(trivy ? { trivy } : {}), opsRepos });
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
    say(`Running ${plan.steps.length} steps; logs in ${runDir}\n`);

    const results = await runSteps(plan.steps, build, { ...options, supervisor, runDir, say, signalled: () => signalled });
    const annotations = [...new Set(results.flatMap((r) => r.annotations))];
    const state_ = runExitCode(results) === 0 ? 'passed' : 'failed';
    const notifications = renderNotifications(plan.notify, state_, `build of ${generated.branch} at ${generated.commit.slice(0, 12)}`);
    const total = options.now().getTime() - started.getTime();
    stderr.write(renderSummary({ commit: generated.commit, branch: generated.branch, registry, results, totalMs: total, notifications, annotations, runDir }));
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
  }
}

interface RunStepsContext extends RunLocalOptions {
  supervisor: StepSupervisor;
  runDir: string;
  say: (line: string) => void;
  signalled: () => NodeJS.Signals | undefined;
}

async function runSteps(steps: readonly LocalStep[], build: LocalBuild, ctx: RunStepsContext): Promise<(StepResult & { annotations: string[] })[]> {
  const results: (StepResult & { annotations: string[] })[] = [];
  const ranOnce = new Set<string>();
  const byKey = new Map<string, StepResult>();
  for (const [i, step] of steps.entries()) {
    const base = { key: step.key, label: step.label, annotations: [] as string[] };
    const push = (r: StepResult & { annotations: string[] }): void => {
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
    const logFile = join(ctx.runDir, 'logs', `${step.key.replace(/[^A-Za-z0-9._-]/g, '_')}.log`);
    const t0 = ctx.now().getTime();
    const ticker = startTicker(ctx, step, t0);
    const outcome = await executeStep(step, {
      cwd: build.workspaceRoot,
      env: buildStepEnv(ctx.env, build, step),
      logFile,
      annotationsDir: join(ctx.runDir, 'annotations'),
      metaDataDir: join(ctx.runDir, 'meta-data'),
      supervisor: ctx.supervisor,
      ranOnce,
      ...(ctx.flags.verbose ? { echo: ctx.stderr } : {}),
    }).finally(() => ticker());
    const durationMs = ctx.now().getTime() - t0;
    if (step.artifactPaths.length > 0) await collectArtifacts(build.workspaceRoot, step.artifactPaths, join(ctx.runDir, 'artifacts'));
    push({
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
