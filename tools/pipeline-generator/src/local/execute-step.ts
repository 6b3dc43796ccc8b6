import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, mkdirSync, openSync, type WriteStream } from 'node:fs';
import { access, appendFile, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { findFreePort } from '@engex/ci-lib';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { quoteShellArg } from '../core/shell.js';
import type { LocalAction, LocalStep } from './plan-local-run.js';
import type { StepStatus } from './render-summary.js';
import type { InstallKind } from './agent-metrics.js';
import { restoreDependencyCache, saveDependencyCache } from './fresh-agent.js';

export interface StepOutcome {
  status: Extract<StepStatus, 'passed' | 'failed' | 'interrupted'>;
  exitCode?: number;
  note?: string;
  /** Annotation files written by the step. */
  annotations: string[];
  /** How the step got its dependencies and how long that took (fresh agents). */
  install: { kind: InstallKind; ms: number; saveMs: number };
}

/** The step being run, so a signal handler can end its whole process group. */
export class StepSupervisor {
  private child: ChildProcess | undefined;
  interrupted = false;

  attach(child: ChildProcess): void {
    this.child = child;
  }

  detach(): void {
    this.child = undefined;
  }

  /** Sends `signal` to the running command and everything it started (its process group). */
  kill(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.child?.exitCode !== null) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }

  interrupt(): void {
    this.interrupted = true;
    this.kill('SIGTERM');
    const child = this.child;
    setTimeout(() => {
      if (child && child === this.child) this.kill('SIGKILL');
    }, 5000).unref();
  }
}

export interface ExecuteStepOptions {
  cwd: string;
  env: Record<string, string>;
  logFile: string;
  annotationsDir: string;
  supervisor: StepSupervisor;
  /** Also copy the output here as it comes (verbose mode). */
  echo?: { write(chunk: string | Uint8Array): unknown };
  /** `once` commands that already passed in this run (argv joined by NUL); updated here. */
  ranOnce: Set<string>;
  /** Folder of the run's `buildkite-agent meta-data` store: one file per key. */
  metaDataDir: string;
  /** Fresh agents: the dependency cache folder (the cache plugin's `fs` backend). */
  depsCache?: string;
  /** Fresh agents: the run's artifact store, where `artifact download` reads. */
  artifactStore?: string;
}

/** The store file of a meta-data key; keys like `engex:halow:digest` become safe file names. */
export function metaDataFile(dir: string, key: string): string {
  return join(dir, `${encodeURIComponent(key)}.txt`);
}

const TAIL_BYTES = 8192;

function lastLine(text: string): string | undefined {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines.pop();
  if (line === undefined) return undefined;
  // engex-ci puts the verdict at both ends ("unchanged <ref>@<digest> ... (already in the registry)").
  return line.length > 200 ? `${line.slice(0, 90)} … ${line.slice(-105)}` : line;
}

export async function executeStep(step: LocalStep, options: ExecuteStepOptions): Promise<StepOutcome> {
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const install: StepOutcome['install'] = { kind: 'none', ms: 0, saveMs: 0 };
  try {
    const outcome = await runActions(step, options, log, install);
    if (outcome.status === 'passed' && step.cache?.save && options.depsCache !== undefined) {
      const t0 = Date.now();
      const saved = await saveDependencyCache(options.depsCache, options.cwd, step.cache, options.env);
      install.saveMs = Date.now() - t0;
      log.write(`[local] dependency cache: ${saved ? `saved ${step.cache.path} in ${install.saveMs} ms` : 'already saved, kept'}\n`);
    }
    return { ...outcome, install };
  } catch (error) {
    log.write(`[local] ${(error as Error).message}\n`);
    return { status: 'failed', exitCode: 1, note: (error as Error).message.split('\n')[0] as string, annotations: [], install };
  } finally {
    await new Promise<void>((resolve) => log.end(resolve));
  }
}

async function runActions(step: LocalStep, options: ExecuteStepOptions, log: WriteStream, install: StepOutcome['install']): Promise<Omit<StepOutcome, 'install'>> {
  const annotations: string[] = [];
  let note: string | undefined;
  let deferred: { exitCode: number; note?: string } | undefined;
  const deadline = Date.now() + step.timeoutMs;
  if (step.cache?.restore && options.depsCache !== undefined) {
    const t0 = Date.now();
    const hit = await restoreDependencyCache(options.depsCache, options.cwd, step.cache, options.env);
    install.ms += Date.now() - t0;
    if (hit) install.kind = 'restored';
    log.write(`[local] dependency cache: ${hit ? `restored ${step.cache.path} in ${Date.now() - t0} ms` : `miss for ${step.cache.manifest.join(', ')}`}\n`);
  }
  for (const action of step.actions) {
    if (options.supervisor.interrupted) return { status: 'interrupted', annotations };
    if (action.kind === 'install') {
      if (
        await access(resolvePath(options.cwd, action.marker)).then(
          () => true,
          () => false,
        )
      ) {
        log.write(`[local] skipped \`${action.argv.join(' ')}\`: ${action.marker} is there (restored)\n`);
        continue;
      }
      log.write(`[local] $ ${action.argv.map(quoteShellArg).join(' ')}\n`);
      const t0 = Date.now();
      const result = await execAction({ kind: 'exec', argv: action.argv, reportsOutcome: false, deferFailure: false, once: false }, options, log, deadline - Date.now());
      install.ms += Date.now() - t0;
      install.kind = 'npm ci';
      if (result.interrupted) return { status: 'interrupted', annotations };
      if (result.timedOut) return { status: 'failed', exitCode: 124, note: `timed out after ${Math.round(step.timeoutMs / 60_000)} min`, annotations };
      if (result.code !== 0) return { status: 'failed', exitCode: result.code, note: `\`${action.argv.join(' ')}\` failed`, annotations };
      continue;
    }
    if (action.kind === 'artifact-download') {
      const from = join(options.artifactStore ?? '', action.path);
      const to = resolvePath(options.cwd, action.path);
      const copied =
        options.artifactStore !== undefined &&
        (await access(from).then(
          () => true,
          () => false,
        ));
      log.write(`[local] artifact download ${action.path} (uploaded by ${action.step})${copied ? '' : ": not in the run's artifact store"}\n`);
      if (!copied) return { status: 'failed', exitCode: 1, note: `artifact ${action.path} was not uploaded by ${action.step}`, annotations };
      await mkdir(dirname(to), { recursive: true });
      await copyFile(from, to);
      continue;
    }
    if (action.kind === 'omit') {
      log.write(`[local] skipped \`${action.command}\`: ${action.reason}\n`);
      continue;
    }
    if (action.kind === 'annotate') {
      const file = await writeAnnotation(action, options);
      annotations.push(file);
      log.write(`[local] annotation ${action.context} written to ${file}\n`);
      continue;
    }
    if (action.kind === 'verify') {
      const result = await verifyLocally(action, options, log, deadline);
      note = result.note ?? note;
      if (result.code !== 0) return { status: 'failed', exitCode: result.code, note: result.note ?? 'deploy verify failed', annotations };
      continue;
    }
    if (action.kind === 'meta-data') {
      const failure = await metaData(action, options);
      log.write(`[local] meta-data ${action.op} ${action.key}${failure ? `: ${failure}` : ''}\n`);
      if (failure) return { status: 'failed', exitCode: 1, note: failure, annotations };
      continue;
    }
    const onceKey = action.argv.join('\u0000');
    if (action.once && options.ranOnce.has(onceKey)) {
      log.write(`[local] skipped \`${action.argv.join(' ')}\`: already ran in this run\n`);
      continue;
    }
    log.write(`[local] $ ${action.argv.map(quoteShellArg).join(' ')}${action.stdin ? ` < ${action.stdin}` : ''}${action.stdout ? ` > ${action.stdout}` : ''}\n`);
    const result = await execAction(action, options, log, deadline - Date.now());
    if (action.reportsOutcome) note = lastLine(result.tail) ?? note;
    if (action.once && result.code === 0 && !result.timedOut && !result.interrupted) options.ranOnce.add(onceKey);
    if (result.interrupted) return { status: 'interrupted', annotations, ...(note ? { note } : {}) };
    if (result.timedOut) {
      return { status: 'failed', exitCode: 124, note: `timed out after ${Math.round(step.timeoutMs / 60_000)} min`, annotations };
    }
    if (result.code !== 0) {
      // An engex-ci failure names its cause on its last line; other tools bury it in the log.
      const failure = {
        exitCode: result.code,
        note: (action.reportsOutcome ? lastLine(result.tail) : undefined) ?? `\`${action.argv.slice(0, 4).join(' ')}\` failed`,
      };
      if (action.annotateOnFailure) {
        const file = await writeAnnotation(
          { kind: 'annotate', context: action.annotateOnFailure.context, style: 'error', append: false, bodyFile: action.annotateOnFailure.file },
          options,
        ).catch(() => undefined);
        if (file) annotations.push(file);
      }
      if (!action.deferFailure) return { status: 'failed', ...failure, annotations };
      deferred ??= failure;
    }
  }
  if (deferred) return { status: 'failed', ...deferred, annotations };
  return { status: 'passed', annotations, ...(note ? { note } : {}) };
}

interface ExecResult {
  code: number;
  tail: string;
  timedOut: boolean;
  interrupted: boolean;
}

function execAction(action: Extract<LocalAction, { kind: 'exec' }>, options: ExecuteStepOptions, log: WriteStream, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    const fds: number[] = [];
    const open = (file: string, flags: string): number => {
      const fd = openSync(resolvePath(options.cwd, file), flags);
      fds.push(fd);
      return fd;
    };
    let tail = '';
    const keep = (chunk: Buffer): void => {
      log.write(chunk);
      options.echo?.write(chunk);
      tail = (tail + chunk.toString()).slice(-TAIL_BYTES);
    };
    let child: ChildProcess;
    try {
      // Buildkite commands that redirect stdout expect the parent folder to exist.
      if (action.stdout) mkdirSync(dirname(resolvePath(options.cwd, action.stdout)), { recursive: true });
      child = spawn(action.argv[0]!, action.argv.slice(1), {
        cwd: options.cwd,
        env: options.env,
        // Its own process group: a timeout or Ctrl-C ends everything the command started.
        detached: true,
        stdio: [action.stdin ? open(action.stdin, 'r') : 'ignore', action.stdout ? open(action.stdout, 'w') : 'pipe', 'pipe'],
      });
    } catch (error) {
      fds.forEach((fd) => closeSync(fd));
      const message = `[local] cannot start ${action.argv[0]}: ${(error as Error).message}\n`;
      log.write(message);
      resolve({ code: 127, tail: message, timedOut: false, interrupted: false });
      return;
    }
    options.supervisor.attach(child);
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        options.supervisor.kill('SIGTERM');
        setTimeout(() => options.supervisor.kill('SIGKILL'), 10_000).unref();
      },
      Math.max(timeoutMs, 1),
    );
    child.on('error', (error: NodeJS.ErrnoException) => {
      const message = error.code === 'ENOENT' ? `[local] ${action.argv[0]}: command not found on PATH\n` : `[local] ${error.message}\n`;
      keep(Buffer.from(message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.supervisor.detach();
      fds.forEach((fd) => closeSync(fd));
      resolve({
        code: code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1),
        tail,
        timedOut,
        interrupted: options.supervisor.interrupted,
      });
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal];
}

/** Starts the pushed image on a free port, runs `deploy verify` against it, and always removes it. */
async function verifyLocally(
  action: Extract<LocalAction, { kind: 'verify' }>,
  options: ExecuteStepOptions,
  log: WriteStream,
  deadline: number,
): Promise<{ code: number; note?: string }> {
  const port = await findFreePort();
  const name = `engex-verify-${process.pid}-${port}`;
  const run = (argv: string[], stdout?: string) =>
    execAction({ kind: 'exec', argv, reportsOutcome: true, deferFailure: false, once: false, ...(stdout ? { stdout } : {}) }, options, log, deadline - Date.now());
  log.write(`[local] starting ${action.image} as ${name} on 127.0.0.1:${port}\n`);
  const started = await run(['docker', 'run', '-d', '--rm', '--name', name, '--network', 'host', '-e', `PORT=${port}`, '-e', 'HOST=127.0.0.1', action.image]);
  if (started.code !== 0) return { code: started.code, note: `could not start ${action.image}: ${lastLine(started.tail) ?? ''}` };
  try {
    const verified = await run([...action.argv, '--url', `http://127.0.0.1:${port}`]);
    const line = lastLine(verified.tail);
    return { code: verified.timedOut ? 124 : verified.code, ...(line ? { note: line } : {}) };
  } finally {
    await run(['docker', 'rm', '-f', name]);
  }
}

/** Buildkite's semantics: `set` stores the value (here: the file's first line), `get` of an unset key fails. */
async function metaData(action: Extract<LocalAction, { kind: 'meta-data' }>, options: ExecuteStepOptions): Promise<string | undefined> {
  const store = metaDataFile(options.metaDataDir, action.key);
  if (action.op === 'set') {
    const value = (await readFile(resolvePath(options.cwd, action.file), 'utf8').catch(() => undefined))?.split('\n')[0]?.trim();
    if (!value) return `meta-data set ${action.key}: ${action.file} is missing or empty`;
    await mkdir(options.metaDataDir, { recursive: true });
    await writeFile(store, value);
    return undefined;
  }
  const value = await readFile(store, 'utf8').catch(() => undefined);
  if (value === undefined) return `meta-data get ${action.key}: no such key in this build (the step that sets it did not run)`;
  const out = resolvePath(options.cwd, action.file);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${value}\n`);
  return undefined;
}

async function writeAnnotation(action: Extract<LocalAction, { kind: 'annotate' }>, options: ExecuteStepOptions): Promise<string> {
  const body = action.bodyFile !== undefined ? await readFile(resolvePath(options.cwd, action.bodyFile), 'utf8') : (action.body ?? '');
  const file = join(options.annotationsDir, `${action.context.replace(/[^A-Za-z0-9._-]/g, '_')}.md`);
  await mkdir(options.annotationsDir, { recursive: true });
  const header = action.append ? '' : `<!-- style: ${action.style} -->\n`;
  if (action.append) await appendFile(file, body);
  else await writeFile(file, header + body);
  return file;
}
