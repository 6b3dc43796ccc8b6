// Benchmarks `engex-pipeline generate` end to end against bare `nx show projects --affected`
// on synthetic workspaces of 300 and 1,000 package.json projects (see tools/pipeline-generator/test/synthetic-workspace.mjs).
// Run with `npm run bench:pipeline` (builds the generator first). Writes RESULTS.md.
//
// Both commands run in the same workspace, on the same commits, with the Nx daemon off as in CI,
// alternating, 5 rounds each (median quoted). Wall time comes from process.hrtime; CPU time
// (user + system, children included) and peak RSS from `/usr/bin/time -v` when present (it
// reports the largest process of the run), else only wall time and this process's own peak RSS.
// On a shared machine CPU time is the steadier measure of cost: wall time also counts waiting for
// a core.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { createSyntheticWorkspace } from '../../tools/pipeline-generator/test/synthetic-workspace.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const NX = join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
const GENERATOR = join(root, 'tools', 'pipeline-generator', 'dist', 'engex-pipeline.cjs');
const SCHEMA = join(root, '..', 'shared', 'buildkite', 'pipeline-schema.json');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = (process.env.BENCH_SIZES ?? '300,1000').split(',').map(Number);
const TARGETS = { time: 1.1, rss: 1.2 };
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

if (!existsSync(GENERATOR)) {
  console.error(`${GENERATOR} is missing: run \`npm run bench:pipeline\` (it builds the generator first).`);
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BUILDKITE') && !k.startsWith('NX_') && k !== 'CI'));
Object.assign(env, { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' });

/** Runs `node <args>` in `cwd`; returns wall ms, peak RSS in MiB, exit code and stdout size. */
function measure(cwd, args) {
  return new Promise((resolve, reject) => {
    const argv = TIME ? [TIME, '-v', process.execPath, ...args] : [process.execPath, ...args];
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = 0;
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.length));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      let rssKb;
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      if (m) rssKb = Number(m[1]);
      else rssKb = process.resourceUsage().maxRSS; // coarse fallback: this process's own peak
      const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
      const sys = /System time \(seconds\): ([\d.]+)/.exec(stderr);
      const cpuMs = user && sys ? (Number(user[1]) + Number(sys[1])) * 1000 : undefined;
      if (code !== 0) reject(new Error(`node ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`));
      else resolve({ ms, cpuMs, rssMb: rssKb / 1024, stdout });
    });
  });
}

const bare = (base, head) => [NX, 'show', 'projects', '--affected', `--base=${base}`, `--head=${head}`];
const generate = (base, head) => [GENERATOR, 'generate', '--base', base, '--head', head];

async function compare(ws, label, file) {
  const head = ws.commitChange(file, `bench: ${label}`);
  const base = execFileSync('git', ['rev-parse', 'HEAD~1'], { cwd: ws.root, encoding: 'utf8' }).trim();
  // Warm both once on this commit: the first run re-hashes the changed files for Nx's cache.
  await measure(ws.root, bare(base, head));
  await measure(ws.root, generate(base, head));
  const runs = { bare: [], generate: [] };
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which goes first, so neither always gets the warmer page cache.
    const order = i % 2 === 0 ? ['bare', 'generate'] : ['generate', 'bare'];
    for (const which of order) {
      const r = await measure(ws.root, which === 'bare' ? bare(base, head) : generate(base, head));
      runs[which].push(r);
      if (process.env.BENCH_VERBOSE) console.log(`  ${which}: ${r.ms.toFixed(0)} ms wall, ${r.cpuMs?.toFixed(0)} ms CPU, ${r.rssMb.toFixed(0)} MiB`);
    }
  }
  const affected = execFileSync(process.execPath, [NX, 'show', 'projects', '--affected', `--base=${base}`, `--head=${head}`, '--json'], { cwd: ws.root, env, encoding: 'utf8' });
  const row = {
    size: ws.names.length,
    label,
    affected: JSON.parse(affected).length,
    bareMs: median(runs.bare.map((r) => r.ms)),
    genMs: median(runs.generate.map((r) => r.ms)),
    bareRss: median(runs.bare.map((r) => r.rssMb)),
    genRss: median(runs.generate.map((r) => r.rssMb)),
    bareCpu: TIME ? median(runs.bare.map((r) => r.cpuMs)) : undefined,
    genCpu: TIME ? median(runs.generate.map((r) => r.cpuMs)) : undefined,
  };
  row.timeRatio = row.genMs / row.bareMs;
  // Each round runs both back to back, so a per-round ratio sees the same machine load.
  row.pairedTime = median(runs.generate.map((g, i) => g.ms / runs.bare[i].ms));
  row.pairedRss = median(runs.generate.map((g, i) => g.rssMb / runs.bare[i].rssMb));
  row.rssRatio = row.genRss / row.bareRss;
  row.cpuRatio = row.bareCpu ? row.genCpu / row.bareCpu : undefined;
  console.log(
    `${row.size} projects, ${label} (${row.affected} affected): nx ${row.bareMs.toFixed(0)} ms / ${row.bareRss.toFixed(0)} MiB, ` +
      `generate ${row.genMs.toFixed(0)} ms / ${row.genRss.toFixed(0)} MiB → time ${row.timeRatio.toFixed(3)}x, RSS ${row.rssRatio.toFixed(3)}x` +
      (row.cpuRatio ? `, CPU ${row.bareCpu.toFixed(0)} vs ${row.genCpu.toFixed(0)} ms → ${row.cpuRatio.toFixed(3)}x` : '') +
      `; paired per round: time ${row.pairedTime.toFixed(3)}x, RSS ${row.pairedRss.toFixed(3)}x`,
  );
  return row;
}

async function checkAll(ws) {
  const out = mkdtempSync(join(os.tmpdir(), 'engex-bench-out-'));
  try {
    const r = await measure(ws.root, [GENERATOR, 'generate', '--all', '--out-dir', out]);
    const files = readdirSync(out).sort();
    let validate;
    if (existsSync(SCHEMA)) {
      const { Ajv } = await import('ajv');
      validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
    }
    const seen = new Set();
    let maxJobs = 0;
    let schemaValid = validate ? true : undefined;
    let dependsOk = true;
    for (const f of files) {
      const doc = parse(readFileSync(join(out, f), 'utf8'));
      const steps = doc.steps.flatMap((s) => (s.group !== undefined ? s.steps : [s]));
      maxJobs = Math.max(maxJobs, steps.length);
      for (const s of steps) seen.add(s.key);
      for (const s of steps) for (const d of s.depends_on ?? []) if (!seen.has(d)) dependsOk = false;
      if (validate && !validate(doc)) schemaValid = false;
    }
    const row = { size: ws.names.length, uploads: files.length, jobs: seen.size, maxJobs, schemaValid, dependsOk, ms: r.ms, rssMb: r.rssMb };
    console.log(
      `--all at ${row.size}: ${row.jobs} jobs in ${row.uploads} uploads (largest ${row.maxJobs}), schema ${schemaValid ?? 'not checked'}, depends_on backwards only: ${dependsOk}`,
    );
    return row;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const loadAtStart = os.loadavg();
const rows = [];
const allRows = [];
const parent = mkdtempSync(join(os.tmpdir(), 'engex-bench-'));
try {
  for (const size of SIZES) {
    const t0 = Date.now();
    const ws = createSyntheticWorkspace({ projects: size, services: 3, nodeModules: join(root, 'node_modules'), parent });
    console.log(`built a ${size}-project workspace in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    rows.push(await compare(ws, 'leaf lib changed', ws.leaf.source));
    rows.push(await compare(ws, 'root lib changed', ws.rootLib.source));
    if (size >= 1000) allRows.push(await checkAll(ws));
    ws.remove();
  }
} finally {
  rmSync(parent, { recursive: true, force: true });
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const verdict = (ratio, target) => (ratio <= target ? 'meets' : 'MISSES');
const big = rows.filter((r) => r.size === 1000);
const lines = [
  '# Pipeline generator benchmark',
  '',
  'Command: `npm run bench:pipeline` (builds `@engex/pipeline-generator`, then runs `node bench/pipeline-generator/run.mjs`).',
  `Knobs: \`BENCH_ROUNDS\` (default 5), \`BENCH_SIZES\` (default 300,1000).`,
  '',
  `Machine: ${os.cpus().length} × ${cpu}, Node ${process.version}; load average (1, 5, 15 min) at the start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, ` +
    `at the end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (other work shares this machine). ` +
    `Peak RSS from ${TIME ? '`/usr/bin/time -v`' : "Node's resource usage"}.`,
  '',
  'Each workspace is a temp git repo of N package.json projects (a 4-ary tree where every project depends on its parent, plus seeded cross-links to lower-numbered projects; the last 3 are `engex:service` apps), with nx symlinked from this repo. One commit changes a leaf library, the next the root library; both commands compare `HEAD~1..HEAD`, Nx daemon off, alternating order, median of ' +
    `${ROUNDS} after one warm-up each.`,
  '',
  '| projects | change | affected | `nx show projects --affected` wall / CPU / peak RSS | `engex-pipeline generate` wall / CPU / peak RSS | wall ratio | paired wall ratio | RSS ratio | CPU ratio |',
  '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.size} | ${r.label} | ${r.affected} | ${r.bareMs.toFixed(0)} ms / ${r.bareCpu?.toFixed(0) ?? '–'} ms / ${r.bareRss.toFixed(0)} MiB | ` +
      `${r.genMs.toFixed(0)} ms / ${r.genCpu?.toFixed(0) ?? '–'} ms / ${r.genRss.toFixed(0)} MiB | ${r.timeRatio.toFixed(3)}x | ${r.pairedTime.toFixed(3)}x | ${r.rssRatio.toFixed(3)}x | ${r.cpuRatio?.toFixed(3) ?? '–'}x |`,
  ),
  '',
  `Targets at 1,000 projects: time ≤ ${TARGETS.time}x, peak RSS ≤ ${TARGETS.rss}x. ` +
    big
      .map(
        (r) =>
          `${r.label}: wall time ${verdict(r.timeRatio, TARGETS.time)} (${r.timeRatio.toFixed(3)}x; paired ${r.pairedTime.toFixed(3)}x), ` +
          `peak RSS ${verdict(r.rssRatio, TARGETS.rss)} (${r.rssRatio.toFixed(3)}x)`,
      )
      .join('; ') +
    '.',
  '',
  'Wall ratio is the ratio of the two medians; the paired ratio is the median of the five per-round ratios (both commands of a round run back to back, so they see the same load from whatever else shares the machine). ' +
    'CPU is user + system time of the process and the children it reaped. It is indicative only: Nx runs each plugin in its own node process; `generate` stops and reaps those workers as soon as the graph is read (so their CPU is counted), while `nx show` may exit before reaping them (then it is not).',
  '',
  ...allRows.flatMap((a) => [
    `\`generate --all\` at ${a.size} projects: ${a.jobs} jobs in ${a.uploads} uploads (largest ${a.maxJobs} jobs, Buildkite's limit is 500), ` +
      `schema ${a.schemaValid === undefined ? 'not checked (../shared absent)' : a.schemaValid ? 'valid' : 'INVALID'} for every upload, ` +
      `every depends_on points at the same or an earlier upload: ${a.dependsOk ? 'yes' : 'NO'}; ${a.ms.toFixed(0)} ms, ${a.rssMb.toFixed(0)} MiB.`,
  ]),
  '',
];
writeFileSync(join(here, 'RESULTS.md'), lines.join('\n'));
console.log(`wrote ${join('bench', 'pipeline-generator', 'RESULTS.md')}`);
