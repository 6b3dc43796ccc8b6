import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Docker } from './docker.js';
import { SmokeTestError } from './errors.js';
import { onInterrupt } from './exit-cleanup.js';
import { withFreePort } from './free-port.js';
import { httpRequest } from './http-request.js';
import { isRecord } from '@engex/workspace-config';

export interface SmokeImageOptions {
  docker: Docker;
  /** The pushed reference, `<host>/<repo>:<sha>`. */
  reference: string;
  /** The sha /version must report. */
  revision: string;
  /**
   * The port on 127.0.0.1 the service listens on (the container shares the host network). Default:
   * a free one, and a new one when another process took it before the container bound it.
   */
  port?: number;
  /** `docker pull` first so the registry's image is what gets tested. Default true. */
  pull?: boolean;
  /** Polls of /healthz before giving up. Default 60 (about 30 s with the default interval). */
  attempts?: number;
  intervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
  /** Goes into the container name (`engex-smoke-<pid>-…`). Default: this process. */
  pid?: number;
  /** Where ports come from without `port` (tests hand out a taken one first). Default findFreePort. */
  findPort?: () => Promise<number>;
}

export interface SmokeResult {
  reference: string;
  container: string;
  port: number;
  version: Record<string, unknown>;
}

/**
 * Runs the image the way production does (its own CMD and user, PORT from env), waits for
 * /healthz, then checks that /version reports the commit we built. Host networking because
 * the agents' engines run without a bridge. The container is always removed.
 */
export async function smokeImage(options: SmokeImageOptions): Promise<SmokeResult> {
  if (options.pull ?? true) await options.docker.pull(options.reference);
  if (options.port !== undefined) return smokeOnPort(options, options.port);
  // A port free when asked may be bound by someone else before the container binds it: the
  // service then exits with EADDRINUSE, and the smoke test runs again on a new port.
  return withFreePort((port) => smokeOnPort(options, port), { find: options.findPort });
}

async function smokeOnPort(options: SmokeImageOptions, port: number): Promise<SmokeResult> {
  const { docker, reference, revision } = options;
  const log = options.log ?? (() => {});
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const attempts = options.attempts ?? 60;
  // Named before it exists, so a SIGINT/SIGTERM that lands while `docker run` is still starting it
  // can remove it too: the interrupt action runs synchronously as the process exits.
  const name = smokeContainerName(options.pid ?? process.pid);
  const forget = onInterrupt(() => {
    spawnSync('docker', ['rm', '--force', name], { stdio: 'ignore', timeout: 15_000 });
  });
  let container = name;
  try {
    container = await docker.runDetached(['--name', name, '--network', 'host', '--env', `PORT=${port}`, '--env', 'HOST=127.0.0.1', reference]);
    log(`started ${container.slice(0, 12)} (${name}) from ${reference} on 127.0.0.1:${port}`);
    const get = (path: string) =>
      httpRequest(new URL(`http://127.0.0.1:${port}${path}`), { method: 'GET', headers: { Accept: 'application/json' }, timeoutMs: 2000, maxBodyBytes: 1 << 20 });
    let healthy = false;
    let last = 'no answer';
    for (let i = 0; i < attempts && !healthy; i++) {
      try {
        const res = await get('/healthz');
        healthy = res.status === 200;
        last = `HTTP ${res.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
      if (!healthy) {
        if (!(await docker.isRunning(container))) {
          throw new SmokeTestError(`${reference} exited before answering /healthz. Last container output:\n${await docker.logs(container)}`);
        }
        await sleep(options.intervalMs ?? 500);
      }
    }
    if (!healthy) {
      throw new SmokeTestError(`${reference} did not answer GET /healthz with 200 after ${attempts} tries (last: ${last}). Container output:\n${await docker.logs(container)}`);
    }
    const res = await get('/version');
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      body = undefined;
    }
    if (res.status !== 200 || !isRecord(body)) {
      throw new SmokeTestError(`${reference}: GET /version answered ${res.status} without a JSON object`);
    }
    if (body['revision'] !== revision) {
      throw new SmokeTestError(
        `${reference}: /version reports revision ${JSON.stringify(body['revision'])}, expected ${revision}; the image was not built from this commit (or REVISION was not passed to the Dockerfile)`,
      );
    }
    return { reference, container, port, version: body };
  } finally {
    await docker.removeContainer(container);
    forget();
  }
}

/** `engex-smoke-<pid>-<random>`: whose container it is, and unique per run. */
export function smokeContainerName(pid: number): string {
  return `engex-smoke-${pid}-${randomBytes(4).toString('hex')}`;
}
