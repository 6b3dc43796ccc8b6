import { runCommand } from './run-command.js';

// The one place that asks "is there a Docker engine, and can it build with BuildKit?", for
// engex-ci, the local runner, the e2e test and the benchmarks alike.

export type DockerStatus = { available: true; serverVersion: string; buildx: boolean } | { available: false; reason: string };

/** How to get a Docker engine on this kind of machine; part of every "no engine" message. */
export const DOCKER_HELP =
  'Start a Docker engine (Docker Desktop, or on Debian/Ubuntu `apt-get install docker.io`, then as root ' +
  '`dockerd --storage-driver=vfs --iptables=false --bridge=none &` where overlayfs/iptables are unavailable), ' +
  'or point DOCKER_HOST at one.';

/** `docker buildx version` answers: BuildKit builds work. */
export async function buildxAvailable(env: NodeJS.ProcessEnv, timeoutMs = 15_000, binary = 'docker'): Promise<boolean> {
  const result = await runCommand(binary, ['buildx', 'version'], {
    env,
    allowFailure: true,
    deadline: { ms: timeoutMs, error: () => new Error('docker buildx version timed out') },
  }).catch(() => ({ exitCode: 1 }));
  return result.exitCode === 0;
}

/** Asks the engine for its version, the cheapest call that proves the daemon answers, then for buildx. */
export async function probeDocker(env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<DockerStatus> {
  const where = env['DOCKER_HOST'] ? `DOCKER_HOST=${env['DOCKER_HOST']}` : 'the default socket';
  let version;
  try {
    version = await runCommand('docker', ['version', '--format', '{{.Server.Version}}'], {
      env,
      allowFailure: true,
      deadline: { ms: timeoutMs, error: (waited) => new Error(`no answer within ${Math.round(waited / 1000)} s`) },
    });
  } catch (error) {
    const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    return { available: false, reason: code === 'ENOENT' ? 'the `docker` client is not on PATH' : `${where}: ${(error as Error).message}` };
  }
  if (version.exitCode !== 0) {
    const detail = `${version.stderr}\n${version.stdout}`.trim().split('\n').filter(Boolean).pop() ?? 'no answer';
    return { available: false, reason: `${where}: ${detail}` };
  }
  return { available: true, serverVersion: version.stdout.trim(), buildx: await buildxAvailable(env, timeoutMs) };
}

/**
 * Docker >= 23 clients build with BuildKit through the buildx plugin. Where buildx is missing
 * (Debian's docker.io engine with a newer static client, as on these agents) an unset
 * DOCKER_BUILDKIT makes some client versions fail and others fall back with a warning; saying 0
 * selects the legacy builder everywhere. The shared Dockerfile avoids BuildKit-only syntax, so
 * both builders produce the same image. A caller's own DOCKER_BUILDKIT always wins.
 */
export function legacyBuilderEnv(env: Readonly<Record<string, string | undefined>>, buildx: boolean): Record<string, string> {
  return env['DOCKER_BUILDKIT'] === undefined && !buildx ? { DOCKER_BUILDKIT: '0' } : {};
}
