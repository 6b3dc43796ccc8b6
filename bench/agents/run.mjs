// bench:agents: our generated pipeline against the seed-shaped baseline (baseline.mjs), both run
// by `engex-pipeline run --local --fresh-agents`: every job a fresh clone of its commit with no
// node_modules and no Nx cache; only the cache plugin, artifacts, meta-data, the registry and the
// shared Nx cache carry over. Run with `npm run bench:agents` (builds the generator, engex-ci and
// the local Node base image first). Writes bench/agents/RESULTS.md; raw JSON under the temp dir.
//
// Three changes, each one commit on top of HEAD in a temp clone (uncommitted work is not
// included): a one-line halow change, a docs-only change, a service-kit change. Two modes:
//   cold  empty npm download cache (per job), empty dependency cache, empty Nx cache;
//   warm  the second build of the same lockfile: the dependency and Nx caches a previous build
//         of the base commit (`--all`) left, and the machine's npm cache.
// The baseline runs everything whatever changed, so it is measured once per mode and compared
// with each change. Both build a branch without a deploy target (no deploy steps in either).
//
// BENCH_MODES=warm,cold and BENCH_CHANGES=halow,docs,service-kit pick a subset; BENCH_BASELINE=0
// leaves the baseline out. BENCH_REUSE=<results.json of an earlier run> keeps the builds measured
// there and runs only the missing ones (delete an entry to measure it again); the report says
// which commit each was measured on.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baselinePipeline } from './baseline.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const GENERATOR = join(root, 'tools', 'pipeline-generator', 'dist', 'engex-pipeline.cjs');
const LOCAL_BASE = join(root, 'tools', 'e2e', 'dist', 'engex-local-base.cjs');
const MODES = (process.env.BENCH_MODES ?? 'warm,cold').split(',').filter(Boolean);
const CHANGES = (process.env.BENCH_CHANGES ?? 'halow,docs,service-kit').split(',').filter(Boolean);
const BASELINE = process.env.BENCH_BASELINE !== '0';
const TARGETS = { halowWarmCriticalPath: 0.7, halowWarmAgent: 1.0, docsAgent: 0.1 };

for (const [file, how] of [
  [GENERATOR, 'the generator'],
  [LOCAL_BASE, 'the local base image builder'],
]) {
  if (!existsSync(file)) {
    console.error(`${file} is missing: run \`npm run bench:agents\` (it builds ${how} first).`);
    process.exit(2);
  }
}

const CHANGE_FILES = {
  halow: { file: 'apps/halow/src/app.ts', line: '// bench:agents: a one-line halow change\n' },
  docs: { file: 'README.md', line: '\nbench:agents: a docs-only change.\n' },
  'service-kit': { file: 'libs/service-kit/src/index.ts', line: '// bench:agents: a service-kit change\n' },
};

const work = mkdtempSync(join(os.tmpdir(), 'engex-bench-agents-'));
const repo = join(work, 'repo');
const say = (line) => console.error(line);
const git = (...args) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();

say(
  `bench:agents in ${work} (modes ${MODES.join(', ')}; changes ${CHANGES.join(', ')}); ${os.cpus().length} CPUs, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const nodeImage = process.env.NODE_IMAGE || execFileSync('node', [LOCAL_BASE], { cwd: root, encoding: 'utf8' }).trim().split('\n').at(-1);
say(`NODE_IMAGE ${nodeImage}`);

execFileSync('git', ['clone', '--quiet', root, repo]);
// The orchestrating checkout plans with the repo's installed Nx; the agents clone it without it.
symlinkSync(join(root, 'node_modules'), join(repo, 'node_modules'));
// The trusted queues' agent guard runs the host's engex-ci bundle (npm run bench:agents builds it).
mkdirSync(join(repo, 'libs', 'ci-lib', 'dist'), { recursive: true });
copyFileSync(join(root, 'libs', 'ci-lib', 'dist', 'engex-ci.cjs'), join(repo, 'libs', 'ci-lib', 'dist', 'engex-ci.cjs'));
appendFileSync(join(repo, '.git', 'info', 'exclude'), 'node_modules\n');
git('config', 'user.name', 'bench');
git('config', 'user.email', 'bench@example.com');
// The bench measures trusted builds (images pushed, the dependency cache saved, issue 18's trust
// zones): its branches are trusted in its clone, else every build would run on the untrusted queue.
const configFile = join(repo, 'engex.config.json');
writeFileSync(configFile, `${JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), trustedBranches: ['main', 'bench-*'] }, null, 2)}\n`);
git('commit', '-q', '-am', 'bench: trust the bench branches');
git('checkout', '-q', '-b', 'bench-base');
const base = git('rev-parse', 'HEAD');
const commits = {};
for (const name of CHANGES) {
  const change = CHANGE_FILES[name];
  if (!change) throw new Error(`unknown change ${name}; one of ${Object.keys(CHANGE_FILES).join(', ')}`);
  git('checkout', '-q', '-b', `bench-${name}`, base);
  appendFileSync(join(repo, change.file), change.line);
  git('commit', '-q', '-am', `bench: ${name} change`);
  commits[name] = git('rev-parse', 'HEAD');
}
const registryHost = JSON.parse(readFileSync(join(repo, 'engex.config.json'), 'utf8')).registry;
const ecr = `${registryHost.account}.dkr.ecr.${registryHost.region}.amazonaws.com`;

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(BUILDKITE|NX_|npm_)/i.test(k) && !['CI', 'ENGEX_REQUIRE', 'INIT_CWD', 'REGISTRY'].includes(k)));

/** One build on fresh agents; resolves with its metrics (agents.json of the run). */
function build(label, { branch, pipeline, all, depsCache, nxCache, npmCache }) {
  git('checkout', '-q', branch);
  const metrics = join(work, `${label}.json`);
  const args = ['run', '--local', '--fresh-agents', '--npm-cache', npmCache, '--deps-cache', depsCache, '--nx-cache', nxCache, '--metrics-json', metrics];
  if (pipeline) {
    const file = join(work, `${label}.pipeline.json`);
    writeFileSync(file, JSON.stringify(pipeline, null, 2));
    args.push('--pipeline', file);
  } else if (all) args.push('--all');
  else args.push('--base', base);
  const log = join(work, `${label}.log`);
  const load = os.loadavg()[0];
  const t0 = Date.now();
  say(`\n== ${label}: ${branch}${pipeline ? ' (seed-shaped baseline)' : all ? ' --all' : ''}; log ${log}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [GENERATOR, ...args], {
      cwd: repo,
      env: { ...env, NODE_IMAGE: nodeImage, NX_DAEMON: 'false', DOCKER_BUILDKIT: '0', ENGEX_LOCAL_STATE: join(work, `state-${label}`) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let pending = '';
    child.stderr.on('data', (chunk) => {
      appendFileSync(log, chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const l of lines) if (/^(--- \[|    (ok|FAILED|SKIPPED|not run) )/.test(l)) say(`  ${l.trim()}`);
    });
    child.on('close', (code) => {
      const data = existsSync(metrics) ? JSON.parse(readFileSync(metrics, 'utf8')) : undefined;
      const result = { label, code, elapsedMs: Date.now() - t0, loadBefore: load, loadAfter: os.loadavg()[0], metrics: data };
      say(
        `  exit ${code}; ${data ? `critical path ${s(data.totals.criticalPathMs)}, agent time ${s(data.totals.agentMs)}, ${data.totals.installs} npm ci, ${data.totals.restores} restores, ${data.totals.nxExecuted} Nx tasks ran / ${data.totals.nxCached} cached` : 'no metrics'}`,
      );
      resolve(result);
    });
  });
}

const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
const ratio = (a, b) => (b > 0 ? a / b : NaN);
const reused = process.env.BENCH_REUSE ? JSON.parse(readFileSync(process.env.BENCH_REUSE, 'utf8')) : undefined;
const results = { base, commits, nodeImage, cpus: os.cpus().length, modes: reused?.modes ?? {}, ...(reused ? { reusedFrom: reused.base } : {}) };
const measured = (entry) => entry?.metrics !== undefined && entry.code === 0;
const save = () => writeFileSync(join(work, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

/** The report: ours against the baseline, per mode and change; rewritten after every mode. */
function report() {
  const lines = [
    '# bench:agents results',
    '',
    `Written by \`npm run bench:agents\` (bench/agents/run.mjs). ${results.cpus} CPUs; load average (1 min) before/after each build in the table.`,
    'Critical path: the longest depends_on chain of measured job walls (what a fleet with free agents takes); agent time: the sum of job walls.',
    'The baseline runs everything whatever changed: measured once per mode, compared with each change.',
    ...(results.reusedFrom ? ['Some builds were kept from an earlier run (BENCH_REUSE): each row names the base commit it was measured on.'] : []),
    '',
  ];
  const misses = [];
  for (const [mode, out] of Object.entries(results.modes)) {
    const b = out.baseline?.metrics?.totals;
    lines.push(`## ${mode}`, '');
    if (out.baseline)
      lines.push(
        `Baseline (seed-shaped, 2 jobs, base ${(out.baseline.commit ?? results.reusedFrom ?? results.base).slice(0, 12)}): exit ${out.baseline.code}, critical path ${b ? s(b.criticalPathMs) : '-'}, agent time ${b ? s(b.agentMs) : '-'}, ${b?.installs ?? '-'} npm ci, Nx tasks run twice: ${b?.executedTwice.join(', ') || 'none'}, load ${out.baseline.loadBefore.toFixed(1)}/${out.baseline.loadAfter.toFixed(1)}.`,
      );
    if (out.previous) {
      const p = out.previous.metrics?.totals;
      lines.push(
        `Previous build (base commit, \`--all\`, fills the caches): exit ${out.previous.code}, ${out.previous.metrics?.steps.length ?? '-'} jobs, critical path ${p ? s(p.criticalPathMs) : '-'}, agent time ${p ? s(p.agentMs) : '-'}, ${p?.installs ?? '-'} npm ci, ${p?.restores ?? '-'} restores.`,
      );
    }
    lines.push(
      '',
      '| change (base) | exit | jobs | critical path (ours / baseline) | ratio | agent time (ours / baseline) | ratio | npm ci (ours / baseline) | restores | Nx ran / cached | Nx tasks run twice | load |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const [name, r] of Object.entries(out.changes)) {
      const t = r.metrics?.totals;
      const at = (r.commit ?? results.reusedFrom ?? results.base).slice(0, 7);
      if (!t) {
        lines.push(`| ${name} (${at}) | ${r.code} | - | - | - | - | - | - | - | - | - | ${r.loadBefore.toFixed(1)}/${r.loadAfter.toFixed(1)} |`);
        continue;
      }
      const cp = b ? ratio(t.criticalPathMs, b.criticalPathMs) : NaN;
      const ag = b ? ratio(t.agentMs, b.agentMs) : NaN;
      lines.push(
        `| ${name} (${at}) | ${r.code} | ${r.metrics.steps.length} | ${s(t.criticalPathMs)} / ${b ? s(b.criticalPathMs) : '-'} | ${cp.toFixed(2)} | ${s(t.agentMs)} / ${b ? s(b.agentMs) : '-'} | ${ag.toFixed(2)} | ${t.installs} / ${b?.installs ?? '-'} | ${t.restores} | ${t.nxExecuted} / ${t.nxCached} | ${t.executedTwice.join(', ') || 'none'} | ${r.loadBefore.toFixed(1)}/${r.loadAfter.toFixed(1)} |`,
      );
      if (mode === 'warm' && name === 'halow' && cp > TARGETS.halowWarmCriticalPath) misses.push(`halow warm critical path ${cp.toFixed(2)}× > ${TARGETS.halowWarmCriticalPath}×`);
      if (mode === 'warm' && name === 'halow' && ag > TARGETS.halowWarmAgent) misses.push(`halow warm agent time ${ag.toFixed(2)}× > ${TARGETS.halowWarmAgent}×`);
      if (name === 'docs' && ag > TARGETS.docsAgent) misses.push(`docs ${mode} agent time ${ag.toFixed(2)}× > ${TARGETS.docsAgent}×`);
      if (t.executedTwice.length > 0) misses.push(`${name} ${mode}: Nx tasks ran in two jobs: ${t.executedTwice.join(', ')}`);
      if (mode === 'warm' && t.installs > 0) misses.push(`${name} warm: ${t.installs} npm ci in a second build of the same lockfile`);
      if (t.installs > 1) misses.push(`${name} ${mode}: ${t.installs} npm ci in one build`);
      if (r.code !== 0) misses.push(`${name} ${mode}: exit ${r.code}`);
    }
    lines.push('');
  }
  lines.push('## Targets', '', misses.length === 0 ? 'All met.' : misses.map((m) => `- missed: ${m}`).join('\n'), '');
  lines.push('Trivy is not installed here: the scan steps are SKIPPED by the local runner (ours), and the baseline has none.', '');
  writeFileSync(join(here, 'RESULTS.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}

for (const mode of MODES) {
  const dir = join(work, mode);
  mkdirSync(dir, { recursive: true });
  const npmCache = mode === 'cold' ? 'cold' : 'warm';
  const out = (results.modes[mode] ??= { changes: {} });
  let shared;
  const todo = CHANGES.filter((name) => !measured(out.changes[name]));
  if (mode === 'warm' && todo.length > 0) {
    shared = { depsCache: join(dir, 'deps'), nxCache: join(dir, 'nx') };
    out.previous = await build(`${mode}-previous-build`, { branch: 'bench-base', all: true, npmCache, ...shared });
    save();
  }
  for (const name of todo) {
    const caches = shared ?? { depsCache: join(dir, `${name}-deps`), nxCache: join(dir, `${name}-nx`) };
    out.changes[name] = { ...(await build(`${mode}-${name}`, { branch: `bench-${name}`, npmCache, ...caches })), commit: base };
    save();
  }
  // The baseline has no dependency cache and no shared Nx cache: every job starts from nothing.
  if (measured(out.baseline) || !BASELINE) {
    save();
    report();
    continue;
  }
  out.baseline = BASELINE
    ? await build(`${mode}-baseline`, {
        branch: 'bench-base',
        pipeline: baselinePipeline({ commit: base, registry: ecr }),
        depsCache: join(dir, 'baseline-deps'),
        nxCache: 'off',
        npmCache,
      }).then((r) => ({ ...r, commit: base }))
    : { label: `${mode}-baseline`, code: 'not run', loadBefore: 0, loadAfter: 0 };
  save();
  report();
}

say(`\nraw: ${join(work, 'results.json')} (logs and per-build JSON beside it)`);
