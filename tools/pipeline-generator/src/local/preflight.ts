import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { DOCKER_HELP, probeDocker } from '@engex/ci-lib';
import { LocalSetupError } from '../core/errors.js';

export { LocalSetupError } from '../core/errors.js';

const run = promisify(execFile);

/** Finds the parts a local run needs, or says how to get them (a `LocalSetupError` whose message is the fix). */

export interface DockerInfo {
  serverVersion: string;
  /** `docker buildx` is installed, so BuildKit builds work. */
  buildx: boolean;
}

export async function findDocker(env: NodeJS.ProcessEnv): Promise<DockerInfo> {
  const status = await probeDocker(env);
  if (!status.available) throw new LocalSetupError(`No Docker engine answers: ${status.reason}.\n${DOCKER_HELP}`);
  return { serverVersion: status.serverVersion, buildx: status.buildx };
}

export async function imagePresent(image: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  return run('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { env }).then(
    () => true,
    () => false,
  );
}

/** The first executable called `name` on PATH. */
export async function which(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** `GET /v2/` answers 200 (or 401, a registry that wants auth) when a registry listens there. */
export function registryAnswers(host: string, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`http://${host}/v2/`, { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
