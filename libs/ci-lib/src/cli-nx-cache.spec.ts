import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { requestStop } from './lib/exit-cleanup.js';
import { InfrastructureError } from './lib/errors.js';
import { startFaultServer } from './testing/fault-server.js';
import { makeNxArchive } from './testing/nx-archive.js';
import { suiteTempDir } from './testing/suite-temp-dir.js';
import { hermeticEnv } from './testing/temp-workspace.js';

// `engex-ci nx-cache serve|proxy|annotate` as the executable runs them (main + the signal's stop
// request). Real Nx against them is in nx-cache-real-nx.spec.ts.

const WRITE = 'main-agents-write-token-0123456789';

interface Serving {
  url: string;
  output: () => string;
  /** What SIGINT does in the executable; resolves with main's exit code. */
  stop: () => Promise<number>;
}

async function serve(argv: string[], env: Record<string, string>, cwd: string, command = 'serve'): Promise<Serving> {
  let output = '';
  const collect = (t: string) => (output += t);
  const exit = main(['nx-cache', command, ...argv], { stdout: collect, stderr: collect, env: hermeticEnv(env), cwd, now: () => new Date(0) });
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
  const tmp = suiteTempDir('engex-nx-cache-cli-');

  it('says loudly that a tokenless cache is open, serves, and stops on the signal with exit 0', async () => {
    const server = await serve(['--dir', 'open-store'], {}, tmp());
    const body = makeNxArchive({ terminalOutput: 'x' });
    expect((await fetch(`${server.url}/v1/cache/1`, { method: 'PUT', body })).status).toBe(200);
    // The access line follows the response; stop only once it is out, so the order below is fixed.
    for (const end = Date.now() + 5_000; !server.output().includes('nx-cache PUT') && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
    expect(await server.stop()).toBe(0);
    expect(
      server
        .output()
        .replace(/:\d+/g, ':<port>')
        .replaceAll(tmp(), '<tmp>')
        .replace(/ \d+ ms/g, ' <ms> ms')
        .replace(/ \d+ B /g, ' <n> B '),
    ).toMatchInlineSnapshot(`
      "WARNING: nx-cache is OPEN: anyone who reaches http://127.0.0.1:<port> can read and write entries. Set ENGEX_NX_CACHE_WRITE_TOKEN (and ENGEX_NX_CACHE_READ_TOKEN) before sharing it.
      nx-cache listening on http://127.0.0.1:<port> dir=<tmp>/open-store auth=OPEN (no tokens)
      nx-cache PUT 1 200 <n> B <ms> ms
      nx-cache stopping: finishing in-flight requests
      nx-cache stopped
      "
    `);
    expect(await readdir(join(tmp(), 'open-store'))).toEqual(['1']);
  });

  it('refuses an open cache on a public address, and bad numbers, with exit 2', async () => {
    const run = async (argv: string[], env: Record<string, string> = {}) => {
      let err = '';
      const code = await main(['nx-cache', 'serve', ...argv], { stdout: () => {}, stderr: (t) => (err += t), env: hermeticEnv(env), cwd: tmp(), now: () => new Date(0) });
      return { code, err };
    };
    expect(await run(['--dir', 's', '--host', '0.0.0.0'])).toMatchObject({ code: 2, err: expect.stringContaining('Refusing an open Nx cache on 0.0.0.0') });
    expect(await run(['--dir', 's', '--port', '70000'])).toMatchObject({ code: 2, err: expect.stringContaining('--port must be a whole number from 0 to 65535') });
    expect(await run(['--port', '1'])).toMatchObject({ code: 2, err: expect.stringContaining('--dir') });
    const { code, err } = await run(['--dir', 's'], { ENGEX_NX_CACHE_WRITE_TOKEN: 'weak' });
    expect([code, err]).toEqual([2, expect.stringContaining('at least 16 printable characters')]);
  });

  it('reports a port in use as an infrastructure failure (exit 4)', async () => {
    const server = await serve(['--dir', 'busy'], { ENGEX_NX_CACHE_WRITE_TOKEN: WRITE }, tmp());
    let err = '';
    const code = await main(['nx-cache', 'serve', '--dir', 'busy2', '--port', new URL(server.url).port], {
      stdout: () => {},
      stderr: (t) => (err += t),
      env: hermeticEnv({ ENGEX_NX_CACHE_WRITE_TOKEN: WRITE }),
      cwd: tmp(),
      now: () => new Date(0),
    });
    expect(await server.stop()).toBe(0);
    expect([code, err]).toEqual([new InfrastructureError('x').exitCode, expect.stringContaining('EADDRINUSE')]);
    expect(err).not.toContain(WRITE);
  });

  it('has help that names the token variables', async () => {
    let out = '';
    expect(await main(['nx-cache', 'serve', '--help'], { stdout: (t) => (out += t), stderr: () => {}, env: {}, cwd: tmp(), now: () => new Date(0) })).toBe(0);
    expect(out).toContain('Usage: engex-ci nx-cache serve [--dir <path>] [--s3-bucket <name>]');
    expect(out).toContain('ENGEX_NX_CACHE_READ_TOKEN, ENGEX_NX_CACHE_WRITE_TOKEN');
  });
});

describe('engex-ci nx-cache proxy and annotate', () => {
  const tmp = suiteTempDir('engex-nx-proxy-cli-');

  it('writes its URL for the hook, records each degraded request, and annotate renders them', async () => {
    const fault = await startFaultServer({ behaviours: [{ kind: 'status', status: 500 }] });
    try {
      const proxy = await serve(['--upstream', fault.url, '--url-file', 'proxy.url', '--events', 'events.jsonl'], {}, tmp(), 'proxy');
      expect((await readFile(join(tmp(), 'proxy.url'), 'utf8')).trim()).toBe(proxy.url);
      expect((await fetch(`${proxy.url}/v1/cache/12`)).status).toBe(404);
      expect((await fetch(`${proxy.url}/v1/cache/12`, { method: 'PUT', body: makeNxArchive() })).status).toBe(200);
      expect(await proxy.stop()).toBe(0);
      expect(proxy.output()).toContain('nx-cache proxy GET 12 -> 404 (HTTP 500)');
    } finally {
      await fault.close();
    }
    let out = '';
    const code = await main(['nx-cache', 'annotate', '--events', 'events.jsonl', '--job', ':nx: checks'], {
      stdout: (t) => (out += t),
      stderr: () => {},
      env: {},
      cwd: tmp(),
      now: () => new Date(0),
    });
    expect(code).toBe(0);
    expect(out).toMatchInlineSnapshot(`
      "**Nx remote cache unavailable for 2 requests** in :nx: checks: the build went on without it (misses ran the tasks, results were not shared).

      | reason | reads answered as a miss | uploads skipped |
      | --- | --- | --- |
      | HTTP 500 | 1 | 1 |
      "
    `);
    let none = '';
    expect(await main(['nx-cache', 'annotate', '--events', 'missing.jsonl'], { stdout: (t) => (none += t), stderr: () => {}, env: {}, cwd: tmp(), now: () => new Date(0) })).toBe(
      0,
    );
    expect(none).toBe('');
  });

  it('refuses a bad upstream and a non-loopback address with exit 2', async () => {
    let err = '';
    const code = await main(['nx-cache', 'proxy', '--upstream', 'ftp://cache'], { stdout: () => {}, stderr: (t) => (err += t), env: {}, cwd: tmp(), now: () => new Date(0) });
    expect([code, err]).toEqual([2, expect.stringContaining('--upstream "ftp://cache" is not an http(s) URL')]);
  });
});
