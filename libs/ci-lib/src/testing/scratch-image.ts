import { mkdtemp, rm, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Docker } from '../lib/docker.js';
import { runCommand } from '../lib/run-command.js';

export interface ScratchImageOptions {
  /** Path in the image → text content. */
  files?: Record<string, string>;
  /** Path in the image → host file to copy (e.g. /bin/busybox). */
  copies?: Record<string, string>;
  labels?: Record<string, string>;
  entrypoint?: string[];
}

/**
 * Builds a tiny `FROM scratch` image with the legacy builder: no base image and no network needed,
 * which is all these machines allow. Returns nothing; inspect the tag for its id.
 */
export async function buildScratchImage(docker: Docker, tags: string[], options: ScratchImageOptions = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'engex-scratch-'));
  try {
    const lines = ['FROM scratch'];
    let n = 0;
    for (const [path, content] of Object.entries(options.files ?? {})) {
      const name = `f${n++}`;
      await writeFile(join(dir, name), content);
      lines.push(`COPY ${name} ${path}`);
    }
    for (const [path, source] of Object.entries(options.copies ?? {})) {
      const name = `f${n++}`;
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await copyFile(source, join(dir, name));
      lines.push(`COPY ${name} ${path}`);
    }
    if (options.entrypoint) lines.push(`ENTRYPOINT ${JSON.stringify(options.entrypoint)}`);
    await writeFile(join(dir, 'Dockerfile'), `${lines.join('\n')}\n`);
    const labelArgs = Object.entries(options.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    await docker.build([...labelArgs, ...tags.flatMap((t) => ['--tag', t]), dir], { DOCKER_BUILDKIT: '0' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Removes every local image named after a test registry (tags and pulled digests alike), so a
 * test leaves the shared engine as it found it. `host` is unique per started registry.
 */
export async function removeRegistryImages(host: string, extraRefs: readonly string[] = []): Promise<void> {
  const ids = new Set<string>();
  for (const pattern of [`${host}/*`, `${host}/*/*`, ...extraRefs]) {
    const listed = await runCommand('docker', ['image', 'ls', '--quiet', '--no-trunc', '--filter', `reference=${pattern}`], { allowFailure: true });
    for (const id of listed.stdout.split('\n').filter(Boolean)) ids.add(id);
  }
  if (ids.size > 0) await runCommand('docker', ['image', 'rm', '--force', ...ids], { allowFailure: true });
}
