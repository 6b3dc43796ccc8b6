import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
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
  const where = env['DOCKER_HOST'] ? `DOCKER_HOST=${env['DOCKER_HOST']}` : 'the default socket (/var/run/docker.sock)';
  let serverVersion: string;
  try {
    serverVersion = (await run('docker', ['version', '--format', '{{.Server.Version}}'], { env, timeout: 15_000 })).stdout.trim();
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    const detail = e.code === 'ENOENT' ? 'the docker client is not on PATH' : (e.stderr ?? e.message).trim().split('\n').pop();
    throw new LocalSetupError(
      `No Docker engine answers at ${where}: ${detail}.\n` +
        'Get one: Docker Desktop, or on Debian/Ubuntu `sudo apt-get install docker.io` and start the daemon ' +
        '(in a container without overlayfs/iptables: `sudo dockerd --storage-driver=vfs --iptables=false --bridge=none &`). ' +
        'Or point DOCKER_HOST at a running engine.',
      { cause: error },
    );
  }
  const buildx = await run('docker', ['buildx', 'version'], { env, timeout: 15_000 }).then(
    () => true,
    () => false,
  );
  return { serverVersion, buildx };
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
