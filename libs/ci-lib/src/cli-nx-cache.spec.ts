import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { requestStop } from './lib/exit-cleanup.js';
import { InfrastructureError } from './lib/errors.js';
import { runCommand } from './lib/run-command.js';
import { hermeticEnv } from './testing/temp-workspace.js';

// `engex-ci nx-cache serve` as the executable runs it (main + the signal's stop request), and
// real Nx using it as its self-hosted remote cache from two "agents" with empty local caches.

const READ = 'pr-agents-read-token-0123456789';
const WRITE = 'main-agents-write-token-0123456789';

interface Serving {
  url: string;
  output: () => string;
  /** What SIGINT does in the executable; resolves with main's exit code. */
  stop: () => Promise<number>;
}

async function serve(argv: string[], env: Record<string, string>, cwd: string): Promise<Serving> {
  let output = '';
  const collect = (t: string) => (output += t);
  const exit = main(['nx-cache', 'serve', ...argv], { stdout: collect, stderr: collect, env: hermeticEnv(env), cwd, now: () => new Date(0) });
  const end = Date.now() + 10_000;
  let url: string | undefined;
  while ((url = /listening on (http:\/\/\S+)/.exec(output)?.[1]) === undefined) {
    const early = await Promise.race([exit, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20))]);
    if (early !== undefined) throw new Error(`nx-cache serve exited ${early}:\n${output}`);
    if (Date.now() > end) throw new Error(`nx-cache serve did not start:\n${output}`);
  }
  return {
    url,
    output: () => output,
    stop: () => {
      expect(requestStop()).toBe(true);
      return exit;
    },
  };
}

describe('engex-ci nx-cache serve', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'engex-nx-cache-cli-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('says loudly that a tokenless cache is open, serves, and stops on the signal with exit 0', async () => {
    const server = await serve(['--dir', 'open-store'], {}, tmp);
    expect((await fetch(`${server.url}/v1/cache/1`, { method: 'PUT', body: 'x' })).status).toBe(202);
    // The access line follows the response; stop only once it is out, so the order below is fixed.
    for (const end = Date.now() + 5_000; !server.output().includes('nx-cache PUT') && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
    expect(await server.stop()).toBe(0);
    expect(
      server
        .output()
        .replace(/:\d+/g, ':<port>')
        .replaceAll(tmp, '<tmp>')
        .replace(/ \d+ ms/g, ' <ms> ms'),
    ).toMatchInlineSnapshot(`
      "WARNING: nx-cache is OPEN: anyone who reaches http://127.0.0.1:<port> can read and write entries. Set ENGEX_NX_CACHE_WRITE_TOKEN (and ENGEX_NX_CACHE_READ_TOKEN) before sharing it.
      nx-cache listening on http://127.0.0.1:<port> dir=<tmp>/open-store auth=OPEN (no tokens)
      nx-cache PUT 1 202 1 B <ms> ms
      nx-cache stopping: finishing in-flight requests
      nx-cache stopped
      "
    `);
    expect(await readdir(join(tmp, 'open-store'))).toEqual(['1']);
  });

  it('refuses an open cache on a public address, and bad numbers, with exit 2', async () => {
    const run = async (argv: string[], env: Record<string, string> = {}) => {
      let err = '';
      const code = await main(['nx-cache', 'serve', ...argv], { stdout: () => {}, stderr: (t) => (err += t), env: hermeticEnv(env), cwd: tmp, now: () => new Date(0) });
      return { code, err };
    };
    expect(await run(['--dir', 's', '--host', '0.0.0.0'])).toMatchObject({ code: 2, err: expect.stringContaining('Refusing an open Nx cache on 0.0.0.0') });
    expect(await run(['--dir', 's', '--port', '70000'])).toMatchObject({ code: 2, err: expect.stringContaining('--port must be a whole number from 0 to 65535') });
    expect(await run(['--port', '1'])).toMatchObject({ code: 2, err: expect.stringContaining('--dir') });
    const { code, err } = await run(['--dir', 's'], { ENGEX_NX_CACHE_WRITE_TOKEN: 'weak' });
    expect([code, err]).toEqual([2, expect.stringContaining('at least 16 printable characters')]);
  });

  it('reports a port in use as an infrastructure failure (exit 4)', async () => {
    const server = await serve(['--dir', 'busy'], { ENGEX_NX_CACHE_WRITE_TOKEN: WRITE }, tmp);
    let err = '';
    const code = await main(['nx-cache', 'serve', '--dir', 'busy2', '--port', new URL(server.url).port], {
      stdout: () => {},
      stderr: (t) => (err += t),
      env: hermeticEnv({ ENGEX_NX_CACHE_WRITE_TOKEN: WRITE }),
      cwd: tmp,
      now: () => new Date(0),
    });
    expect(await server.stop()).toBe(0);
    expect([code, err]).toEqual([new InfrastructureError('x').exitCode, expect.stringContaining('EADDRINUSE')]);
    expect(err).not.toContain(WRITE);
  });

  it('has help that names the token variables', async () => {
    let out = '';
    expect(await main(['nx-cache', 'serve', '--help'], { stdout: (t) => (out += t), stderr: () => {}, env: {}, cwd: tmp, now: () => new Date(0) })).toBe(0);
    expect(out).toContain('Usage: engex-ci nx-cache serve --dir <path> [--port <n>] [--host <addr>] [--max-body-bytes <n>]');
    expect(out).toContain('ENGEX_NX_CACHE_READ_TOKEN, ENGEX_NX_CACHE_WRITE_TOKEN');
  });
});

describe('real Nx with the nx-cache server as its self-hosted remote cache', () => {
  const nxBin = join(dirname(createRequire(import.meta.url).resolve('nx/package.json')), 'dist/bin/nx.js');
  let ws: string;
  let server: Serving;
  beforeAll(async () => {
    ws = await mkdtemp(join(tmpdir(), 'engex-nx-remote-'));
    const files: Record<string, string> = {
      'nx.json': JSON.stringify({ neverConnectToCloud: true, targetDefaults: { make: { cache: true } } }),
      'package.json': JSON.stringify({ name: 'remote-cache-ws', private: true }),
      'libs/a/src.txt': 'input\n',
      // Counts its runs outside the outputs, so a restore cannot fake "did not run".
      'libs/a/project.json': JSON.stringify({
        name: 'a',
        targets: {
          make: {
            executor: 'nx:run-commands',
            inputs: ['{projectRoot}/src.txt'],
            outputs: ['{projectRoot}/out'],
            options: {
              command:
                "node -e \"const f=require('fs');f.appendFileSync('runs.log','ran\\n');f.mkdirSync('libs/a/out',{recursive:true});f.writeFileSync('libs/a/out/result.txt','made from '+f.readFileSync('libs/a/src.txt','utf8'));console.log('MAKE RAN')\"",
            },
          },
        },
      }),
    };
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(ws, path)), { recursive: true });
      await writeFile(join(ws, path), text);
    }
    await mkdir(join(ws, 'node_modules'));
    await symlink(dirname(dirname(dirname(nxBin))), join(ws, 'node_modules/nx'), 'dir');
    server = await serve(['--dir', join(ws, '.remote-store')], { ENGEX_NX_CACHE_READ_TOKEN: READ, ENGEX_NX_CACHE_WRITE_TOKEN: WRITE }, ws);
  });
  afterAll(async () => {
    if (server) await server.stop();
    await rm(ws, { recursive: true, force: true });
  });

  /** One agent: its own empty local cache, the remote cache with `token`. */
  const agent = async (name: string, token: string) => {
    await rm(join(ws, 'libs/a/out'), { recursive: true, force: true });
    const env = hermeticEnv({
      NX_DAEMON: 'false',
      NX_CACHE_DIRECTORY: join(ws, `.agent-cache-${name}`),
      NX_WORKSPACE_DATA_DIRECTORY: join(ws, `.agent-data-${name}`),
      NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url,
      NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token,
      NX_NO_CLOUD: 'true',
      NX_TUI: 'false',
    });
    const result = await runCommand(process.execPath, [nxBin, 'run', 'a:make', '--outputStyle=static'], {
      cwd: ws,
      env,
      deadline: { ms: 45_000, error: (ms) => new Error(`nx did not finish within ${ms} ms`) },
    });
    return result.stdout + result.stderr;
  };

  it('builds once on the main-branch agent and restores on a fresh pull-request agent', { timeout: 60_000 }, async () => {
    const first = await agent('main', WRITE);
    expect(first).toContain('MAKE RAN');
    expect(first).not.toContain('[remote cache]');
    const stored = await readdir(join(ws, '.remote-store'));
    expect(stored).toHaveLength(1);

    const second = await agent('pr', READ);
    // Nx replays the stored terminal output; runs.log (outside the outputs) shows the command ran once.
    expect(second).toContain('> nx run a:make  [remote cache]');
    expect(second).toContain('Cache:             1/1 hit (100%)');
    expect(await readFile(join(ws, 'libs/a/out/result.txt'), 'utf8')).toBe('made from input\n');
    expect(await readFile(join(ws, 'runs.log'), 'utf8')).toBe('ran\n');
    expect(server.output()).toMatch(new RegExp(`nx-cache PUT ${stored[0]!.slice(0, 12)}\\S* 202 `));
    expect(server.output()).toMatch(new RegExp(`nx-cache GET ${stored[0]!.slice(0, 12)}\\S* 200 `));
    expect(server.output()).not.toContain(READ);
  });

  it('lets a pull-request agent run a changed task but never store it', { timeout: 60_000 }, async () => {
    await writeFile(join(ws, 'libs/a/src.txt'), 'changed on a branch\n');
    const output = await agent('pr-change', READ);
    expect(output).toContain('MAKE RAN');
    expect(await readFile(join(ws, 'libs/a/out/result.txt'), 'utf8')).toBe('made from changed on a branch\n');
    expect(await readdir(join(ws, '.remote-store'))).toHaveLength(1);
    expect(server.output()).toMatch(/nx-cache PUT \S+ 403 /);
  });
});
