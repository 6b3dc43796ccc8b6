// bench:nx-cache: the Nx remote cache under a fleet's load and faults. Run with
// `npm run bench:nx-cache` (builds engex-ci first; runs under tsx to reuse ci-lib's test helpers:
// the Nx archive builder, s3rver with its If-None-Match shim, the temp Nx workspace).
//
// 1. load, one server (folder): N simulated agents replay Nx 23's request shapes against one
//    `engex-ci nx-cache serve --dir` (its own process): per build, T concurrent GETs (Nx's
//    getBatch), then a PUT per miss, 3 at a time (Nx's default parallel). Hashes come from a
//    shared pool, so agents hit what others stored.
// 2. load, two replicas on S3: the same against two `serve --s3-bucket` processes on one bucket
//    (s3rver on loopback), agents split between them.
// 3. faults, simulated agents: each fault with and without the agent proxy (`nx-cache proxy`,
//    its own process); a build fails when Nx would fail it (a GET other than 200/404, a PUT other
//    than 200/403/409, a connection error, or no answer within 20 s, where Nx would hang).
// 4. faults, real Nx 23.2.1: exit code and wall time of `nx run-many -t make` (2 tasks) on a clean
//    agent, straight at the faulty cache (before) and through the proxy (after), against no remote
//    cache at all.
//
// BENCH_AGENTS (default 16), BENCH_BUILDS (per agent, default 3), BENCH_TASKS (per build, 20).
// Writes bench/nx-cache/RESULTS.md. The faulty caches of parts 3 and 4 are in faults.mjs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeNxArchive } from '../../libs/ci-lib/src/testing/nx-archive.ts';
import { createNxCacheWorkspace } from '../../libs/ci-lib/src/testing/nx-workspace.ts';
import { S3RVER_CREDENTIALS, startLocalS3 } from '../../libs/ci-lib/src/testing/s3-server.ts';
import { FAULTS, startFault, startFullDiskServer } from './faults.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const ENGEX_CI = join(root, 'libs', 'ci-lib', 'dist', 'engex-ci.cjs');
if (!existsSync(ENGEX_CI)) {
  console.error(`${ENGEX_CI} is missing: run \`npm run bench:nx-cache\` (it builds engex-ci first).`);
  process.exit(2);
}
const AGENTS = Number(process.env.BENCH_AGENTS ?? 16);
const BUILDS = Number(process.env.BENCH_BUILDS ?? 3);
const TASKS = Number(process.env.BENCH_TASKS ?? 20);
const WRITE = 'bench-write-token-0123456789abcdef';
const HANG_CUTOFF_MS = 10_000;
const tmp = mkdtempSync(join(os.tmpdir(), 'engex-bench-nx-cache-'));
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

/** `engex-ci <args>` in its own process; resolves with its URL once it says it listens. */
async function startEngexCi(args, env = {}) {
  const child = spawn(process.execPath, [ENGEX_CI, ...args], { env: { PATH: process.env.PATH, TMPDIR: tmp, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d.toString()).slice(-20_000)));
  const end = Date.now() + 20_000;
  let url;
  while ((url = /listening on (http:\/\/\S+)/.exec(log)?.[1]) === undefined) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`engex-ci ${args.join(' ')} did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  let peakKiB = 0;
  const sampler = setInterval(() => {
    const status = (() => {
      try {
        return readFileSync(`/proc/${child.pid}/status`, 'utf8');
      } catch {
        return '';
      }
    })();
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peakKiB = Math.max(peakKiB, rss);
  }, 50);
  return {
    url,
    peakMiB: () => Math.round(peakKiB / 1024),
    stop: async () => {
      clearInterval(sampler);
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      children.delete(child);
    },
  };
}

/**
 * One HTTP exchange from `localAddress` (each agent its own loopback address, as agents are hosts
 * of their own to the server's per-address limit); never longer than `cutoffMs` (then 'hang', as
 * Nx would hang).
 */
function exchange(url, { method = 'GET', headers, body }, localAddress, cutoffMs = HANG_CUTOFF_MS) {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (result) => resolve({ ...result, ms: performance.now() - started });
    const req = request(url, { method, headers: body ? { ...headers, 'Content-Length': body.length } : headers, localAddress, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', () => done({ status: 'error' }));
    });
    req.setTimeout(cutoffMs, () => {
      req.destroy();
      done({ status: 'hang' });
    });
    req.on('error', () => done({ status: 'error' }));
    req.end(body);
  });
}

const ENTRIES = Array.from({ length: 40 }, (_, i) =>
  makeNxArchive({ files: { [`dist/chunk-${i}.js`]: randomBytes(16_384 + ((i * 6_151) % 240_000)) }, terminalOutput: `built ${i}\n` }),
);
const pool = Array.from({ length: 300 }, (_, i) => (1_000_000_000 + i).toString());

/**
 * One simulated agent: `builds` builds of `TASKS` tasks, 70% from the shared pool, 30% new.
 * Returns per-request latencies and how many builds Nx would have failed.
 */
async function agent(urls, agentIndex, builds, stats) {
  const headers = { Authorization: `Bearer ${WRITE}`, Accept: 'application/octet-stream' };
  for (let b = 0; b < builds; b++) {
    const url = urls[(agentIndex + b) % urls.length];
    const hashes = Array.from({ length: TASKS }, (_, t) => (t < TASKS * 0.7 ? pool[(agentIndex * 7 + b * 13 + t * 31) % pool.length] : `${agentIndex}${b}${t}${Date.now()}`));
    let failed = false;
    const from = `127.0.0.${2 + (agentIndex % 250)}`;
    const gets = await Promise.all(hashes.map((h) => exchange(`${url}/v1/cache/${h}`, { headers }, from)));
    for (const g of gets) {
      stats.latencies.push(g.ms);
      stats.requests++;
      // Nx fails on any other status, and on a 200 whose body is not its gzip archive.
      if ((g.status !== 200 && g.status !== 404) || (g.status === 200 && (g.body[0] !== 0x1f || g.body[1] !== 0x8b))) failed = true;
    }
    // Nx stops at a failed read (or hangs on it): no uploads follow.
    const misses = failed ? [] : hashes.filter((_, i) => gets[i].status !== 200);
    for (let i = 0; i < misses.length; i += 3) {
      const batch = misses.slice(i, i + 3);
      const puts = await Promise.all(
        batch.map((h, j) =>
          exchange(
            `${url}/v1/cache/${h}`,
            { method: 'PUT', headers: { ...headers, 'Content-Type': 'application/octet-stream' }, body: ENTRIES[(i + j + agentIndex) % ENTRIES.length] },
            from,
          ),
        ),
      );
      for (const p of puts) {
        stats.latencies.push(p.ms);
        stats.requests++;
        if (p.status !== 200 && p.status !== 403 && p.status !== 409) failed = true;
      }
    }
    stats.builds++;
    if (failed) stats.failed++;
  }
}

async function load(urls, agents, builds) {
  const stats = { latencies: [], requests: 0, builds: 0, failed: 0 };
  const started = performance.now();
  await Promise.all(Array.from({ length: agents }, (_, i) => agent(urls, i, builds, stats)));
  const seconds = (performance.now() - started) / 1000;
  const sorted = stats.latencies.sort((a, b) => a - b);
  const pct = (p) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);
  return { ...stats, seconds: Math.round(seconds * 10) / 10, rps: Math.round(stats.requests / seconds), p50: pct(50), p99: pct(99) };
}

const rows = [];
const phases = [];
let phaseStart = performance.now();
const phase = (name) => {
  phases.push(`${name} ${Math.round((performance.now() - phaseStart) / 1000)} s`);
  phaseStart = performance.now();
};
const line = (text) => {
  console.log(text);
  rows.push(text);
};
const started = performance.now();

// 1. One server on a folder.
{
  const server = await startEngexCi(['nx-cache', 'serve', '--dir', join(tmp, 'store')], { ENGEX_NX_CACHE_WRITE_TOKEN: WRITE });
  await load([server.url], 4, 1); // warm-up: the pool's first entries
  const r = await load([server.url], AGENTS, BUILDS);
  await server.stop();
  line(`| one server, folder | ${AGENTS} × ${BUILDS} builds | ${r.requests} | ${r.rps} | ${r.p50} | ${r.p99} | ${server.peakMiB()} | ${r.failed}/${r.builds} |`);
}

phase('folder');

// 2. Two replicas on one S3 bucket.
{
  const s3 = await startLocalS3(join(tmp, 's3'));
  const env = {
    ENGEX_NX_CACHE_WRITE_TOKEN: WRITE,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
  const args = ['nx-cache', 'serve', '--s3-bucket', s3.bucket, '--s3-prefix', 'nx/', '--s3-endpoint', s3.endpoint];
  const replicas = [await startEngexCi(args, env), await startEngexCi(args, env)];
  const urls = replicas.map((r) => r.url);
  await load(urls, 4, 1);
  const r = await load(urls, AGENTS, BUILDS);
  for (const replica of replicas) await replica.stop();
  await s3.close();
  line(
    `| two replicas, S3 (s3rver) | ${AGENTS} × ${BUILDS} builds | ${r.requests} | ${r.rps} | ${r.p50} | ${r.p99} | ${replicas.map((x) => x.peakMiB()).join(' + ')} | ${r.failed}/${r.builds} |`,
  );
}

phase('S3');

// 3. Faults, simulated agents, without and with the proxy.
const faultRows = [];
for (const kind of FAULTS) {
  const fault = await startFault(kind);
  const direct = await load([fault.url], 4, 1);
  const proxy = await startEngexCi(['nx-cache', 'proxy', '--upstream', fault.url, '--events', join(tmp, `events-${kind}.jsonl`)]);
  const via = await load([proxy.url], 4, 2);
  await proxy.stop();
  await fault.close();
  faultRows.push(`| ${kind} | ${direct.failed}/${direct.builds} | ${via.failed}/${via.builds} | ${via.p99} | ${proxy.peakMiB()} |`);
  console.log(faultRows.at(-1));
}

phase('simulated faults');

// 4. Real Nx: before (straight at the fault) and after (through the proxy).
const nxRows = [];
{
  const ws = await createNxCacheWorkspace();
  let n = 0;
  // A silent server hangs Nx for good: cut at 10 s. The others end by themselves, after Nx's own
  // PUT retries (6 attempts, backoff up to ~20 s in all), so they get 30 s.
  const run = async (url, cutoffMs = 30_000) => ws.agent(`bench-${n++}`, url === undefined ? undefined : { url, token: WRITE }, cutoffMs);
  const none = await run(undefined);
  nxRows.push(`| no remote cache (reference) | - | ${none.exitCode} | ${(none.ms / 1000).toFixed(1)} s |`);
  {
    const old = await startFault('old-202');
    const r = await run(old.url);
    nxRows.push(`| server answering a stored PUT with 202 (the old serve) | exit ${r.exitCode}, ${old.puts()} PUTs for 2 tasks | - | ${(r.ms / 1000).toFixed(1)} s |`);
    await old.close();
  }
  const full = await startFullDiskServer(join(tmp, 'full-disk'), (dir) => startEngexCi(['nx-cache', 'serve', '--dir', dir], { ENGEX_NX_CACHE_WRITE_TOKEN: WRITE }));
  // A real full disk when the bench may mount a tmpfs (root); else the 507 it turns into.
  for (const kind of [...FAULTS.filter((f) => f !== '507' || !full), ...(full ? ['ENOSPC (tmpfs full)'] : [])]) {
    const fault = kind.startsWith('ENOSPC') ? full : await startFault(kind);
    const before = await run(fault.url, kind === 'hang' ? HANG_CUTOFF_MS : 30_000);
    const proxy = await startEngexCi(['nx-cache', 'proxy', '--upstream', fault.url, '--events', join(tmp, `nx-events-${n}.jsonl`)]);
    const after = await run(proxy.url);
    await proxy.stop();
    await fault.close();
    const exit = (r) => (r.exitCode === 'killed' ? `hung, SIGKILLed at ${Math.round(r.ms / 1000)} s` : String(r.exitCode));
    nxRows.push(`| ${kind} | ${exit(before)} (${(before.ms / 1000).toFixed(1)} s) | ${exit(after)} | ${(after.ms / 1000).toFixed(1)} s |`);
    console.log(nxRows.at(-1));
  }
  if (!full) nxRows.push('| ENOSPC | measured as its 507 above: mounting a small tmpfs needs root | | |');
  await ws.remove();
}

phase('real Nx');
const cpus = os.cpus();
const report = `# bench:nx-cache results

${new Date().toISOString().slice(0, 16)}Z, ${cpus.length} × ${cpus[0]?.model.trim()}, Node ${process.version}, whole run ${Math.round((performance.now() - started) / 1000)} s (${phases.join(', ')}).
Load: ${AGENTS} agents × ${BUILDS} builds × ${TASKS} tasks (70% shared hashes), entries ${Math.round(ENTRIES[0].length / 1024)}-${Math.round(ENTRIES.at(-1).length / 1024)} KiB; servers, replicas and proxies in their own processes; s3rver in the bench process.

| setup | load | requests | requests/s | p50 ms | p99 ms | peak RSS MiB | builds failed |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Faults, simulated agents (4 × 1 build straight at the fault, 4 × 2 builds through the proxy with its default deadlines):

| fault | builds failed without proxy | builds failed with proxy | p99 ms with proxy | proxy peak RSS MiB |
| --- | --- | --- | --- | --- |
${faultRows.join('\n')}

Real Nx 23.2.1 (\`nx run-many -t make\`, 2 tasks, clean agent; proxy with its default deadlines: 2 s to start answering a GET, 30 s per GET, 60 s per PUT):

| fault | exit before (wall) | exit after (through the proxy) | wall after |
| --- | --- | --- | --- |
${nxRows.join('\n')}
`;
writeFileSync(join(here, 'RESULTS.md'), report);
console.log(report);
process.exit(0);
