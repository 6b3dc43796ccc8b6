import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfrastructureError } from './errors.js';
import { onInterrupt } from './exit-cleanup.js';
import { withFreePort } from './free-port.js';

/** Debian's docker-registry 2.8 (`apt-get install docker-registry`). */
export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface LocalRegistry {
  /** `127.0.0.1:<port>`: use as REGISTRY and as an image host. */
  host: string;
  /** Filesystem storage root. */
  storageDir: string;
  /** Everything the registry printed so far (for failure messages). */
  log(): string;
  /** Stops the process; removes the storage unless it was passed in. */
  stop(): Promise<void>;
}

export interface LocalRegistryOptions {
  binary?: string;
  /** Keep images here (not removed on stop). Default: a fresh mkdtemp dir, removed on stop. */
  storageDir?: string;
  /** How long to wait for `GET /v2/` to answer. Default 10 s. */
  readyTimeoutMs?: number;
  /** Where ports come from (tests hand out a taken one first). Default findFreePort. */
  findPort?: () => Promise<number>;
}

export function registryBinaryAvailable(binary = REGISTRY_BINARY): boolean {
  return existsSync(binary);
}

/**
 * Starts a real OCI registry on a free 127.0.0.1 port with filesystem storage and waits until it
 * answers. `engex-pipeline run --local` pushes its images here, and tests use it; the caller must
 * `stop()` it (also on failure paths).
 */
export async function startLocalRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  const binary = options.binary ?? REGISTRY_BINARY;
  if (!registryBinaryAvailable(binary)) {
    throw new InfrastructureError(`${binary} not found`, { hint: "Install Debian's registry: `apt-get install docker-registry`." });
  }
  const workDir = await mkdtemp(join(tmpdir(), 'engex-registry-'));
  const ownsStorage = options.storageDir === undefined;
  const storageDir = options.storageDir ?? join(workDir, 'data');
  await mkdir(storageDir, { recursive: true });
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  try {
    // The port is free when asked, but another process may bind it first: then the registry exits
    // with "address already in use" and starts again on a new one.
    return await withFreePort((port) => serve(binary, workDir, storageDir, ownsStorage, `127.0.0.1:${port}`, readyTimeoutMs), { find: options.findPort });
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

/** One registry process on `host`; resolves when it answers, rejects (process stopped) when it exits first or never answers. */
async function serve(binary: string, workDir: string, storageDir: string, ownsStorage: boolean, host: string, readyTimeoutMs: number): Promise<LocalRegistry> {
  const configFile = join(workDir, 'config.yml');
  await writeFile(
    configFile,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(storageDir)}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      '',
    ].join('\n'),
  );

  let output = '';
  const child: ChildProcess = spawn(binary, ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // An interrupted run (the executable's signal handler, also on a second Ctrl-C) must not leave
  // the registry listening or its temp folder behind: no waiting there, so SIGKILL and rmSync.
  const forget = onInterrupt(() => {
    child.kill('SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
  });
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  // Unregistered only once stopped: a process that dies in the middle (a second signal) still
  // runs the action.
  const stop = async (): Promise<void> => {
    await kill();
    await rm(ownsStorage ? workDir : configFile, { recursive: true, force: true });
    if (!ownsStorage) await rm(workDir, { recursive: true, force: true });
    forget();
  };

  const deadline = Date.now() + readyTimeoutMs;
  while (!(await answers(host))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await kill();
      forget();
      throw new InfrastructureError(`docker-registry did not start on ${host}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host, storageDir, log: () => output, stop };
}

function answers(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`http://${host}/v2/`, { method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
