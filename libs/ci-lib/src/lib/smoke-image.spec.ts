import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildScratchImage, removeRegistryImages } from '../testing/scratch-image.js';
import { BUSYBOX, busyboxRequirement, describeNeeding, dockerRequirement, registryRequirement } from '../testing/requirements.js';
import { startLocalRegistry, type LocalRegistry } from './local-registry.js';
import { createDocker } from './docker.js';
import { SmokeTestError, exitCodeFor } from './errors.js';
import { findFreePort } from './free-port.js';
import { runCommand } from './run-command.js';
import { smokeImage } from './smoke-image.js';

const SHA = 'c0ffee0000000000000000000000000000c0ffee';

describeNeeding([dockerRequirement(), busyboxRequirement(), registryRequirement()], 'smokeImage against a real engine', () => {
  const engine = createDocker();
  let registry: LocalRegistry;
  let name: string;

  /** A scratch image whose static busybox httpd serves /healthz and /version like a service. */
  const serviceImage = async (tag: string, version: Record<string, string>, entrypoint?: string[]) => {
    const ref = `${name}:${tag}`;
    await buildScratchImage(engine, [ref], {
      copies: { '/bin/busybox': BUSYBOX },
      files: { '/www/healthz': '{"status":"ok"}', '/www/version': JSON.stringify(version) },
      entrypoint: entrypoint ?? ['/bin/busybox', 'sh', '-c', 'exec /bin/busybox httpd -f -p "$HOST:$PORT" -h /www'],
    });
    await engine.push(ref);
    return ref;
  };

  const containersFrom = async (ref: string) => (await runCommand('docker', ['ps', '--all', '--quiet', '--filter', `ancestor=${ref}`])).stdout.trim();

  beforeAll(async () => {
    registry = await startLocalRegistry();
    name = `${registry.host}/engex/smoke-${randomBytes(4).toString('hex')}`;
  }, 60_000);

  afterAll(async () => {
    if (registry) await removeRegistryImages(registry.host);
    await registry?.stop();
  });

  it('passes when /healthz answers and /version reports the commit', async () => {
    const ref = await serviceImage('good', { revision: SHA, version: SHA });
    const log: string[] = [];
    const result = await smokeImage({ docker: engine, reference: ref, revision: SHA, intervalMs: 100, log: (l) => log.push(l) });
    expect(result).toMatchObject({ reference: ref, version: { revision: SHA } });
    expect(log[0]).toMatch(new RegExp(`^started [0-9a-f]{12} \\(engex-smoke-${process.pid}-[0-9a-f]{8}\\) from ${ref.replace(/[.]/g, '\\.')} on 127\\.0\\.0\\.1:${result.port}$`));
    expect(await containersFrom(ref)).toBe('');
  });

  it('runs again on a new port when another process took the first before the container bound it', async () => {
    const ref = await serviceImage('race', { revision: SHA, version: SHA });
    // What findFreePort's answer can turn into: a port someone binds before the container does.
    const held = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    const taken = (held.address() as AddressInfo).port;
    const given: number[] = [];
    const findPort = async () => (given.push(given.length === 0 ? taken : await findFreePort()), given[given.length - 1]!);
    try {
      const log: string[] = [];
      const result = await smokeImage({ docker: engine, reference: ref, revision: SHA, intervalMs: 100, findPort, log: (l) => log.push(l) });
      expect(given).toHaveLength(2);
      expect(result.port).toBe(given[1]);
      expect(log.filter((l) => l.startsWith('started '))).toHaveLength(2);
      expect(await containersFrom(ref)).toBe('');
    } finally {
      await new Promise((r) => held.close(r));
    }
  });

  it('fails when /version reports another revision, and removes the container', async () => {
    const ref = await serviceImage('wrong', { revision: 'f'.repeat(40) });
    const error = await smokeImage({ docker: engine, reference: ref, revision: SHA, intervalMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmokeTestError);
    expect(exitCodeFor(error)).toBe(1);
    expect((error as Error).message).toContain(`/version reports revision "${'f'.repeat(40)}", expected ${SHA}`);
    expect(await containersFrom(ref)).toBe('');
  });

  it('fails fast with the container output when the process exits', async () => {
    const ref = await serviceImage('crash', { revision: SHA }, ['/bin/busybox', 'sh', '-c', 'echo "config: PORT is invalid" >&2; exit 3']);
    const error = await smokeImage({ docker: engine, reference: ref, revision: SHA, intervalMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmokeTestError);
    expect((error as Error).message).toMatch(/exited before answering \/healthz[\s\S]*config: PORT is invalid/);
    expect(await containersFrom(ref)).toBe('');
  });
});
