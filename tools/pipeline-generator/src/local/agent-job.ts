import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AgentStore } from './agent-store.js';
import type { InstallKind } from './agent-metrics.js';
import type { AgentHookName } from './local-env.js';
import type { LocalCommandStep } from './plan-local-run.js';
import type { LocalPlugin } from './plugin-config.js';
import { recordTestUpload, restoreCache, saveCache, type CacheKeyEnv } from './plugins.js';
import { registryAnswers } from './preflight.js';
import type { StepStatus } from './render-summary.js';
import { spawnLogged, type StepSupervisor } from './supervisor.js';

/**
 * One job as a Buildkite agent runs it, in its fresh checkout: the environment hooks (the
 * queue's, then the plugins': ECR login), pre-command (the queue's hook, then the cache restore),
 * the step's command text under `bash -e -c`, post-command (the cache save after a pass), the
 * artifact upload, and pre-exit (the queue's hook, then Test Engine). The command is the
 * uploaded text; nothing here knows what a step does.
 */

/** The agent's default shell for a job's command (`shell` in the agent config). */
export const AGENT_SHELL = ['bash', '-e', '-c'] as const;

export interface JobOptions {
  step: LocalCommandStep;
  checkout: string;
  /** Folder of this agent (its bin folder, hook env files); removed by the caller. */
  agentDir: string;
  env: Record<string, string>;
  hooks: Readonly<Partial<Record<AgentHookName, string>>>;
  store: AgentStore;
  /** argv that runs the local `buildkite-agent` (the runner's own script with its agent entry). */
  agentCommand: readonly string[];
  /** The real `docker`, behind the ECR stand-in. */
  docker: string;
  registry: string;
  /** The cache plugin's folder (its fs backend). */
  depsCache: string;
  /** Whether this queue's agents may write it (QueueAgents.cacheWrite). */
  cacheWrite: boolean;
  logFile: string;
  supervisor: StepSupervisor;
  echo?: { write(chunk: string | Uint8Array): unknown };
  clock: () => number;
}

export interface JobOutcome {
  status: Extract<StepStatus, 'passed' | 'failed' | 'interrupted'>;
  exitCode?: number;
  note?: string;
  /** How the job got its dependencies (cache restore, or `npm ci` in its command) and how long that took. */
  install: { kind: InstallKind; ms: number; saveMs: number };
}

const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

export async function runJob(o: JobOptions): Promise<JobOutcome> {
  await mkdir(dirname(o.logFile), { recursive: true });
  const log = createWriteStream(o.logFile, { flags: 'a' });
  const say = (line: string): void => {
    log.write(`${line}\n`);
    o.echo?.write(`${line}\n`);
  };
  try {
    return await phases(o, log, say);
  } catch (error) {
    say(`[local] ${(error as Error).message}`);
    return { status: 'failed', exitCode: 1, note: (error as Error).message.split('\n')[0] as string, install: { kind: 'none', ms: 0, saveMs: 0 } };
  } finally {
    await new Promise<void>((resolve) => log.end(resolve));
  }
}

async function phases(o: JobOptions, log: WriteStream, say: (line: string) => void): Promise<JobOutcome> {
  const install: JobOutcome['install'] = { kind: 'none', ms: 0, saveMs: 0 };
  const deadline = o.clock() + o.step.timeoutMs;
  const bin = join(o.agentDir, 'bin');
  const ecr = o.step.plugins.filter((p): p is Extract<LocalPlugin, { kind: 'ecr' }> => p.kind === 'ecr' && p.login);
  await writeShims(
    bin,
    o,
    ecr.flatMap((p) => p.registries),
  );
  let env = o.env;
  const exec = (argv: readonly string[], e: Record<string, string>) =>
    spawnLogged(argv, { cwd: o.checkout, env: e, log, echo: o.echo, supervisor: o.supervisor, timeoutMs: deadline - o.clock() });
  const fail = (exitCode: number, note: string): JobOutcome => ({ status: o.supervisor.interrupted ? 'interrupted' : 'failed', exitCode, note, install });
  const hook = async (name: AgentHookName): Promise<number> => {
    const path = o.hooks[name];
    if (path === undefined) return 0;
    say(`~~~ Running agent ${name} hook (${path})`);
    const out = join(o.agentDir, `${name}.env`);
    // As the agent does: the hook runs in a shell whose exported variables carry into the job.
    const r = await exec(['bash', '-c', 'set -e; . "$1"; env -0 > "$2"', name, path, out], env);
    if (r.code !== 0) return r.code;
    // A hook that `exec`s or exits early leaves no after-env: the agent (hook.ExitError in its
    // hook wrapper) keeps the job's environment as it was and goes on, and so does this.
    const after = await readFile(out, 'utf8').catch(() => '');
    if (after === '') say(`~~~ The ${name} hook exited early: its environment changes, if any, were not recorded`);
    else env = parseEnv(after);
    return 0;
  };

  if ((await hook('environment')) !== 0) return fail(1, 'the agent environment hook failed');
  for (const p of ecr) {
    say(`~~~ Running plugin ${p.ref} environment hook (emulated: login to ${p.registries.join(', ')} = the run's registry ${o.registry})`);
    if (!(await registryAnswers(o.registry))) return fail(1, `${p.ref}: the run's registry ${o.registry} does not answer the login`);
  }
  const preCommand = await hook('pre-command');
  if (preCommand !== 0) return fail(preCommand, `the agent pre-command hook exited ${preCommand}; the command did not run`);
  const keyEnv: CacheKeyEnv = {
    BUILDKITE_PIPELINE_SLUG: env['BUILDKITE_PIPELINE_SLUG'] ?? '',
    BUILDKITE_LABEL: env['BUILDKITE_LABEL'] ?? '',
    BUILDKITE_BRANCH: env['BUILDKITE_BRANCH'] ?? '',
    BUILDKITE_ORGANIZATION_SLUG: env['BUILDKITE_ORGANIZATION_SLUG'] ?? '',
  };
  const caches = o.step.plugins.filter((p): p is Extract<LocalPlugin, { kind: 'cache' }> => p.kind === 'cache');
  for (const cache of caches) {
    say(`~~~ Running plugin ${cache.ref} pre-command hook (emulated, fs backend at ${o.depsCache})`);
    const t0 = o.clock();
    try {
      if (await restoreCache(cache, { folder: o.depsCache, checkout: o.checkout, env: keyEnv, log: say })) install.kind = 'restored';
    } catch (error) {
      return fail(1, `${cache.ref} restore failed: ${(error as Error).message.split('\n')[0]}`);
    }
    install.ms += o.clock() - t0;
  }

  // Ctrl-C during the hooks or the restore (not a supervised process): the command never starts.
  if (o.supervisor.interrupted) return { status: 'interrupted', install };
  say('~~~ Running commands');
  for (const c of o.step.commands) say(`$ ${c}`);
  const started = o.clock();
  const command = await exec([...AGENT_SHELL, o.step.commands.join('\n')], env);
  const npmCi = install.kind === 'none' ? await installedAt(o.checkout, started) : undefined;
  if (npmCi !== undefined) Object.assign(install, { kind: 'npm ci', ms: npmCi - started });
  let outcome: JobOutcome = command.interrupted
    ? { status: 'interrupted', install }
    : command.timedOut
      ? fail(124, `timed out after ${Math.round(o.step.timeoutMs / 60_000)} min`)
      : command.code !== 0
        ? fail(command.code, lastLine(command.tail) ?? `the command exited ${command.code}`)
        : { status: 'passed', install, note: lastLine(command.tail) };

  if (outcome.status === 'passed') {
    for (const cache of caches) {
      say(`~~~ Running plugin ${cache.ref} post-command hook (emulated)`);
      const t0 = o.clock();
      try {
        await saveCache(cache, { folder: o.depsCache, checkout: o.checkout, env: keyEnv, log: say, writable: o.cacheWrite });
      } catch (error) {
        outcome = fail(1, `${cache.ref} save failed: ${(error as Error).message.split('\n')[0]}`);
      }
      install.saveMs += o.clock() - t0;
    }
  }
  if (o.step.artifactPaths.length > 0) {
    say(`~~~ Uploading artifacts ${o.step.artifactPaths.join(';')}`);
    const files = await o.store.uploadArtifacts(o.step.key, o.checkout, o.step.artifactPaths);
    say(files.length > 0 ? `Uploaded ${files.join(', ')}` : 'No files matched the artifact paths');
  }
  if ((await hook('pre-exit')) !== 0 && outcome.status === 'passed') outcome = fail(1, 'the agent pre-exit hook failed');
  for (const p of o.step.plugins) {
    if (p.kind !== 'test-collector') continue;
    say(`~~~ Running plugin ${p.ref} pre-exit hook (emulated: recorded, not sent)`);
    const recordFile = join(o.store.dir, 'test-engine', `${o.step.key.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
    const code = await recordTestUpload(p, { checkout: o.checkout, env, recordFile, log: say });
    if (code !== 0 && outcome.status === 'passed') outcome = fail(code, `${p.ref}: Missing ${p.tokenEnv} environment variable`);
  }
  return outcome;
}

/**
 * The job's bin folder, first on PATH: `buildkite-agent` (the runner's agent entry), and with
 * the ECR plugin a `docker` that reaches the ECR hosts it logged in to at the run's registry
 * (every argument starting with `<host>/` is rewritten; then the real docker runs).
 */
async function writeShims(bin: string, o: JobOptions, ecrHosts: readonly string[]): Promise<void> {
  await mkdir(bin, { recursive: true });
  const agent = join(bin, 'buildkite-agent');
  await writeFile(agent, `#!/bin/sh\nexec ${o.agentCommand.map(q).join(' ')} "$@"\n`);
  await chmod(agent, 0o755);
  if (ecrHosts.length === 0) return;
  // Registry hosts are [A-Za-z0-9.:-] only (checked), so they sit in the patterns unquoted.
  const bad = [...ecrHosts, o.registry].find((h) => !/^[A-Za-z0-9.:-]+$/.test(h));
  if (bad !== undefined) throw new Error(`registry host ${JSON.stringify(bad)} has characters a registry host cannot have`);
  const cases = ecrHosts.map((h) => `    ${h}/*) a="${o.registry}/\${a#${h}/}" ;;`).join('\n');
  const docker = join(bin, 'docker');
  await writeFile(
    docker,
    `#!/bin/sh\n# ECR stand-in (ecr#v2.10.0 login emulated): ${ecrHosts.join(', ')} -> ${o.registry}\nfor a do\n  shift\n  case "$a" in\n${cases}\n  esac\n  set -- "$@" "$a"\ndone\nexec ${q(o.docker)} "$@"\n`,
  );
  await chmod(docker, 0o755);
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0 && !['_', 'SHLVL', 'PWD', 'OLDPWD'].includes(entry.slice(0, i))) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}

/** When `npm ci` (the install guard in the command) finished: its lockfile copy's mtime, if written during the command. */
async function installedAt(checkout: string, since: number): Promise<number | undefined> {
  const s = await stat(join(checkout, 'node_modules/.package-lock.json')).catch(() => undefined);
  return s && s.mtimeMs >= since ? Math.round(s.mtimeMs) : undefined;
}

/** The command's last output line, shortened: the summary's note (engex-ci puts its verdict at both ends of it). */
function lastLine(tail: string): string | undefined {
  const line = tail
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
  if (line === undefined) return undefined;
  return line.length > 200 ? `${line.slice(0, 90)} … ${line.slice(-105)}` : line;
}
