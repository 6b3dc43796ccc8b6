import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/temp-dir.js';
import { openLocalInfra, type LocalInfraOptions } from './local-infra.js';

/** A registry's `GET /v2/` answer: enough for `REGISTRY=host:port`, so no registry is started. */
let registry: Server;
let host: string;
beforeAll(async () => {
  registry = createServer((_req, res) => res.writeHead(200).end('{}'));
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => registry.close(() => resolve())));

async function options(env: Record<string, string>): Promise<LocalInfraOptions> {
  const dir = await tempDir('engex-infra-');
  execFileSync('git', ['init', '--quiet', dir]);
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'one']);
  const lines: string[] = [];
  return {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    cwd: dir,
    state: join(dir, '.engex-local'),
    repo: dir,
    commit: 'HEAD',
    agentFlags: { npmCache: 'warm' },
    pipeline: { steps: [], notify: [] },
    say: (line) => void lines.push(line),
  };
}

const listeners = (): number[] => [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];

describe('openLocalInfra: made and taken down in one place', () => {
  it('catches Ctrl-C while open (the running job is interrupted, the run sees the signal) and leaves nothing when closed', async () => {
    const before = listeners();
    const infra = await openLocalInfra(await options({ REGISTRY: host }));
    expect(infra.registry).toBe(host);
    expect(existsSync(infra.agents.root)).toBe(true);
    expect(listeners()).toEqual(before.map((n) => n + 1));
    expect(infra.signalled()).toBeUndefined();
    process.emit('SIGINT', 'SIGINT');
    expect([infra.signalled(), infra.supervisor.interrupted]).toEqual(['SIGINT', true]);
    await infra.close();
    expect(existsSync(infra.agents.root)).toBe(false);
    expect(listeners()).toEqual(before);
  });

  it('takes down what it made when a part is missing, and says how to get it', async () => {
    const before = listeners();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const dead = `127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const o = await options({ REGISTRY: dead });
    // The agents' folder is made under the OS temp folder first: point that at an empty one.
    const tmp = await tempDir('engex-infra-tmp-');
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = tmp;
    try {
      await expect(openLocalInfra(o)).rejects.toThrow(`REGISTRY=${dead} does not answer`);
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
    expect(readdirSync(tmp)).toEqual([]);
    expect(listeners()).toEqual(before);
  });
});
