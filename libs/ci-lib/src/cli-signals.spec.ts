import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocker } from './lib/docker.js';
import { startLocalRegistry, type LocalRegistry } from './lib/local-registry.js';
import { runCommand } from './lib/run-command.js';
import { startFaultServer, type FaultServer } from './testing/fault-server.js';
import { BUSYBOX, busyboxRequirement, describeNeeding, dockerRequirement, findRepoRoot, registryRequirement } from './testing/requirements.js';
import { buildScratchImage, removeRegistryImages } from './testing/scratch-image.js';
import { createTempWorkspace, hermeticEnv, servicePackage, type TempWorkspace } from './testing/temp-workspace.js';

// The real executable (src/bin.ts under tsx) gets real signals: whatever it started (a smoke
// container, a temp clone, a registry) must be gone after SIGTERM, SIGINT, a parent shell's Ctrl-C
// (SIGINT to the whole process group) and a double signal.

const SHA = '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a';
const ROOT = findRepoRoot();
const TSX = [process.execPath, '--import', 'tsx', '--conditions', '@engex/source'];

const exitOf = (child: ChildProcess) => new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));

async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeNeeding([dockerRequirement(), busyboxRequirement(), registryRequirement()], 'image smoke removes its container on any signal (real docker, real process)', () => {
  const engine = createDocker();
  let registry: LocalRegistry;
  let ws: TempWorkspace;
  let ref: string;

  const containers = async () => (await runCommand('docker', ['ps', '--all', '--quiet', '--filter', `ancestor=${ref}`])).stdout.trim();
  const smokeArgv = () => [join(ROOT, 'libs/ci-lib/src/bin.ts'), '--workspace', ws.root, 'image', 'smoke', '--project', 'demo'];
  const env = () => hermeticEnv({ REGISTRY: registry.host, BUILDKITE_COMMIT: SHA });

  beforeAll(async () => {
    registry = await startLocalRegistry();
    ws = await createTempWorkspace({ packages: { 'apps/demo': servicePackage('@engex/demo', { port: 3000 }) } });
    // Never answers /healthz: the smoke test polls for 30 s, time enough to be signalled.
    ref = `${registry.host}/engex/demo:${SHA}`;
    await buildScratchImage(engine, [ref], { copies: { '/bin/busybox': BUSYBOX }, entrypoint: ['/bin/busybox', 'sleep', '600'] });
    await engine.push(ref);
  }, 120_000);

  afterAll(async () => {
    if (ref) await runCommand('sh', ['-c', `docker rm -f $(docker ps -aq --filter ancestor=${ref}) 2>/dev/null || true`], { allowFailure: true });
    if (registry) await removeRegistryImages(registry.host);
    await registry?.stop();
    await ws?.cleanup();
  });

  it.each([
    ['SIGTERM', ['SIGTERM'], 143],
    ['SIGINT', ['SIGINT'], 130],
    ['a double SIGTERM', ['SIGTERM', 'SIGTERM'], 143],
  ] as const)(
    `%s: exit 128 + n, no container left`,
    async (_name, signals, code) => {
      const child = spawn(TSX[0]!, [...TSX.slice(1), ...smokeArgv()], { cwd: ROOT, env: env(), stdio: 'ignore' });
      const exited = exitOf(child);
      await until('the smoke container', async () => (await containers()) !== '');
      for (const signal of signals) child.kill(signal);
      expect(await exited).toBe(code);
      expect(await containers()).toBe('');
    },
    120_000,
  );

  it(`a parent's Ctrl-C (SIGINT to the process group): no container left`, async () => {
    // A shell running engex-ci in the foreground, as a terminal or the local runner does.
    const quoted = [...TSX, ...smokeArgv()].map((a) => `'${a}'`).join(' ');
    const shell = spawn('bash', ['-c', `${quoted}; echo "engex-ci exited $?"`], { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    let out = '';
    shell.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = exitOf(shell);
    await until('the smoke container', async () => (await containers()) !== '');
    process.kill(-shell.pid!, 'SIGINT');
    await exited;
    expect(out).toContain('engex-ci exited 130');
    expect(await containers()).toBe('');
  }, 120_000);
});

describe('temp clones and registries are gone after a double signal (real process)', () => {
  let tmp: string;
  let server: FaultServer | undefined;
  let ws: TempWorkspace;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'engex-signal-tmp-'));
    ws = await createTempWorkspace({ git: true, packages: { 'apps/halow': servicePackage('@engex/halow', { port: 3000 }) } });
  });
  afterAll(async () => {
    await server?.close();
    await ws?.cleanup();
    await rm(tmp, { recursive: true, force: true });
  });

  it('deploy bump: two SIGTERMs remove the temp clone and exit 143', async () => {
    server = await startFaultServer({ behaviours: [{ kind: 'hang' }], lifetimeMs: 30_000 });
    const argv = ['--workspace', ws.root, 'deploy', 'bump', '--repo', `${server.url}/ops.git`, '--path', 'k.yaml', '--image', 'x', '--tag', SHA];
    const child = spawn(TSX[0]!, [...TSX.slice(1), join(ROOT, 'libs/ci-lib/src/bin.ts'), ...argv], {
      cwd: ROOT,
      env: hermeticEnv({ BUILDKITE_COMMIT: SHA, TMPDIR: tmp, ENGEX_CI_GIT_DEADLINE: '30' }),
      stdio: 'ignore',
    });
    const exited = exitOf(child);
    const leftovers = async () => (await readdir(tmp)).filter((n) => n.startsWith('engex-bump-'));
    await server.waitForRequests(1);
    expect(await leftovers()).toHaveLength(1);
    child.kill('SIGTERM');
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(await leftovers()).toEqual([]);
  }, 60_000);

  describeNeeding([registryRequirement()], 'with docker-registry', () => {
    it("a run's registry: two SIGINTs kill it and remove its folder", async () => {
      // What a runner does: the executables' signal handling, a registry, then wait for the user.
      const script = join(tmp, `registry-${randomBytes(4).toString('hex')}.mts`);
      await writeFile(
        script,
        [
          `import { installSignalHandlers } from ${JSON.stringify(join(ROOT, 'libs/ci-lib/src/lib/exit-cleanup.ts'))};`,
          `import { startLocalRegistry } from ${JSON.stringify(join(ROOT, 'libs/ci-lib/src/lib/local-registry.ts'))};`,
          'installSignalHandlers(process);',
          'const registry = await startLocalRegistry();',
          'process.stdout.write(JSON.stringify({ host: registry.host, storageDir: registry.storageDir }) + "\\n");',
          'setInterval(() => {}, 1000);',
        ].join('\n'),
      );
      const child = spawn(TSX[0]!, [...TSX.slice(1), script], { cwd: ROOT, env: hermeticEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = exitOf(child);
      await until('the registry', async () => out.includes('\n'), 30_000);
      const { host, storageDir } = JSON.parse(out) as { host: string; storageDir: string };
      const answers = async () =>
        fetch(`http://${host}/v2/`).then(
          (r) => r.status === 200,
          () => false,
        );
      expect(await answers()).toBe(true);
      child.kill('SIGINT');
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      await until('the registry to stop answering', async () => !(await answers()), 10_000);
      expect(existsSync(dirname(storageDir))).toBe(false);
    }, 60_000);
  });
});
