// bench:agents: our generated pipeline against the pipeline a user would pick instead, the
// Nx-guide single job (single-job.mjs: one `nx affected` job on one agent with the same dependency
// cache, the same shared Nx cache and the same image work), both run by `engex-pipeline run
// --local`: every job a fresh clone of its commit with no node_modules and no Nx cache; only the
// cache plugin, artifacts, meta-data, the registry and the shared Nx cache carry over. Run with
// `npm run bench:agents` (builds the generator, engex-ci and the local Node base image first).
// Writes bench/agents/RESULTS.md; raw JSON and logs under the temp dir it names.
//
// Rows, each one commit on top of HEAD in a temp clone (uncommitted work is not included):
//   halow        a one-line halow change (apps/halow/src/app.ts, a comment)
//   failing      a halow change that breaks a halow test: time to the first red signal
//   docs         a docs-only change (README.md)
//   service-kit  a service-kit change (libs/service-kit/src/index.ts), under two services
//   all          `--all` (ours) / `nx run-many` (single) on the halow change's commit
// When service-kit or all is selected, the base commit adds a second service, invoices, made by the
// repo's own generator (`nx g @engex/workspace-plugin:service`): every row of that run has two.
// Modes:
//   cold  every build an empty npm download cache (per job), dependency cache and Nx cache;
//   warm  the second build of the same lockfile: a copy, for each build, of the dependency and
//         Nx caches a previous build of the base commit left (one job, `nx run-many -t lint
//         typecheck test build`), and the machine's npm cache.
// Each build gets its own copy of the caches, so neither pipeline reads what the other wrote, and
// the images of the bench's commits are removed before each build, so none reuses another's Docker layers.
//
// BENCH_MODES=warm,cold and BENCH_CHANGES=halow,failing,docs,service-kit,all pick a subset;
// BENCH_SEED=1 also runs the seed-shaped baseline (baseline.mjs, two jobs, no caches) once per mode;
// BENCH_KEEP=<results.json> keeps an earlier run's other modes in the report;
// BENCH_GRANULARITY=project sets engex.config.json's stepGranularity in the clone (the
//   config-level alternative, measured the same way);
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baselinePipeline } from './baseline.mjs';
import { agentMsOf, canceledAgentMs, firstRedOfJobs, firstRedOfSingleJob, plain, renderReport } from './report.mjs';
import { affectedArgs, cachePluginOf, fillCachesPipeline, runManyArgs, singleJobPipeline } from './single-job.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const GENERATOR = join(root, 'tools', 'pipeline-generator', 'dist', 'engex-pipeline.cjs');
const LOCAL_BASE = join(root, 'tools', 'e2e', 'dist', 'engex-local-base.cjs');
const MODES = (process.env.BENCH_MODES ?? 'warm,cold').split(',').filter(Boolean);
const CHANGES = (process.env.BENCH_CHANGES ?? 'halow,failing,docs,service-kit,all').split(',').filter(Boolean);
const SEED = process.env.BENCH_SEED === '1';

for (const [file, how] of [
  [GENERATOR, 'the generator'],
  [LOCAL_BASE, 'the local base image builder'],
]) {
  if (!existsSync(file)) {
    console.error(`${file} is missing: run \`npm run bench:agents\` (it builds ${how} first).`);
    process.exit(2);
  }
}

const append = (line) => (text) => `${text}${line}`;
const CHANGE_FILES = {
  halow: { file: 'apps/halow/src/app.ts', edit: append('// bench:agents: a one-line halow change\n') },
  failing: {
    file: 'apps/halow/src/app.ts',
    edit: (text) => {
      const next = text.replace('`hello, ${request.query.name}`', '`hi, ${request.query.name}`');
      if (next === text) throw new Error('apps/halow/src/app.ts no longer answers `hello, ${request.query.name}`: update the failing row of bench/agents/run.mjs');
      return next;
    },
  },
  docs: { file: 'README.md', edit: append('\nbench:agents: a docs-only change.\n') },
  'service-kit': { file: 'libs/service-kit/src/index.ts', edit: append('// bench:agents: a service-kit change\n') },
};
for (const name of CHANGES) if (!CHANGE_FILES[name] && name !== 'all') throw new Error(`unknown row ${name}; one of ${[...Object.keys(CHANGE_FILES), 'all'].join(', ')}`);

const work = mkdtempSync(join(os.tmpdir(), 'engex-bench-agents-'));
const repo = join(work, 'repo');
const say = (line) => console.error(line);
const git = (...args) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
const loads = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

say(`bench:agents in ${work} (modes ${MODES.join(', ')}; rows ${CHANGES.join(', ')}); ${os.cpus().length} CPUs, load ${loads()}`);
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
// zones). Each build names its own branch the pipeline's default branch
// (BUILDKITE_PIPELINE_DEFAULT_BRANCH, as a Buildkite pipeline set up for it would), which
// trustedBranchesFor always trusts: engex.config.json stays as committed, so the `all` row's
// tests of the repo's own config (bootstrap.spec pins trustedBranches) pass as they do on main.
const configFile = join(repo, 'engex.config.json');
const config = JSON.parse(readFileSync(configFile, 'utf8'));
if (process.env.BENCH_GRANULARITY) {
  // BENCH_GRANULARITY=project measures the config-level alternative (`stepGranularity`) the same way.
  writeFileSync(configFile, `${JSON.stringify({ ...config, stepGranularity: process.env.BENCH_GRANULARITY }, null, 2)}\n`);
  git('commit', '-q', '-am', 'bench: stepGranularity');
}

// Adds a service with the repo's generator and commits it, with package-lock.json listing the new
// workspace (else the agents' `npm ci` refuses the commit). npm writes node_modules/.package-lock.json
// even with --package-lock-only, and the clone's node_modules is the host's: the link is away meanwhile.
function addService(name) {
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: repo, env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' }, stdio: ['ignore', 'ignore', 'inherit'] });
  run('npx', ['nx', 'g', '@engex/workspace-plugin:service', name, '--skip-install', '--description', 'bench second service', '--owner-team', 'engex']);
  unlinkSync(join(repo, 'node_modules'));
  try {
    run('npm', ['install', '--package-lock-only', '--ignore-scripts', '--offline', '--no-audit', '--no-fund']);
  } finally {
    symlinkSync(join(root, 'node_modules'), join(repo, 'node_modules'));
  }
  git('add', '-A');
  git('commit', '-q', '-m', `bench: a second service, ${name}, so a service-kit change affects two`);
  return name;
}
// Not billing: workspace-plugin's integration spec generates billing in a copy of the repo (`all` runs it).
const services = ['halow'];
if (CHANGES.includes('service-kit') || CHANGES.includes('all')) services.push(addService('invoices'));
git('checkout', '-q', '-b', 'bench-base');
const base = git('rev-parse', 'HEAD');
const commits = {};
for (const name of Object.keys(CHANGE_FILES)) {
  if (!CHANGES.includes(name) && !(name === 'halow' && CHANGES.includes('all'))) continue;
  const { file, edit } = CHANGE_FILES[name];
  git('checkout', '-q', '-b', `bench-${name}`, base);
  writeFileSync(join(repo, file), edit(readFileSync(join(repo, file), 'utf8')));
  git('commit', '-q', '-am', `bench: ${name} change`);
  commits[name] = git('rev-parse', 'HEAD');
}

const ecr = `${config.registry.account}.dkr.ecr.${config.registry.region}.amazonaws.com`;
const checksAgents = { queue: config.agents?.queue ?? 'default' };
// Our cache plugin config, as the generator renders it: the single job and the previous build restore with it.
git('checkout', '-q', 'bench-base');
const cachePlugin = cachePluginOf(
  JSON.parse(
    execFileSync(process.execPath, [GENERATOR, 'generate', '--all', '--format', 'json'], {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, NX_DAEMON: 'false', BUILDKITE_PIPELINE_DEFAULT_BRANCH: 'bench-base' },
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ),
);

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(BUILDKITE|NX_|npm_)/i.test(k) && !['CI', 'ENGEX_REQUIRE', 'INIT_CWD', 'REGISTRY'].includes(k)));

/**
 * One build on fresh agents; resolves with its metrics (agents.json of the run), its typed
 * pipeline and, with `verbose`, its stderr lines stamped as they arrived (the single job's first red).
 */
function build(label, { branch, pipeline, all, depsCache, nxCache, npmCache, verbose = false }) {
  // No build may reuse the Docker layers of an image another build of the bench made.
  removeImages();
  git('checkout', '-q', branch);
  const metrics = join(work, `${label}.json`);
  const state = join(work, `state-${label}`);
  const args = ['run', '--local', '--npm-cache', npmCache, '--deps-cache', depsCache, '--nx-cache', nxCache, '--metrics-json', metrics];
  if (verbose) args.push('--verbose');
  if (pipeline) {
    const file = join(work, `${label}.pipeline.json`);
    writeFileSync(file, JSON.stringify(pipeline, null, 2));
    args.push('--pipeline', file);
  } else if (all) args.push('--all');
  else args.push('--base', base);
  const log = join(work, `${label}.log`);
  const load = os.loadavg()[0];
  const t0 = Date.now();
  say(`\n== ${label}: ${branch}${pipeline ? ` (${pipeline.steps[0].label})` : all ? ' --all' : ''}; log ${log}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [GENERATOR, ...args], {
      cwd: repo,
      env: { ...env, NODE_IMAGE: nodeImage, NX_DAEMON: 'false', DOCKER_BUILDKIT: '0', ENGEX_LOCAL_STATE: state, BUILDKITE_PIPELINE_DEFAULT_BRANCH: branch },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const stamped = [];
    let pending = '';
    child.stderr.on('data', (chunk) => {
      const t = Date.now();
      appendFileSync(log, chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        if (verbose) stamped.push({ t, line });
        if (/^(--- \[| {4}(ok|FAILED|SKIPPED|CANCELED|not run) )/.test(plain(line))) say(`  ${plain(line).trim()}`);
      }
    });
    child.on('close', (code) => {
      const data = existsSync(metrics) ? JSON.parse(readFileSync(metrics, 'utf8')) : undefined;
      const runs = join(state, 'runs');
      const run = existsSync(runs) ? readdirSync(runs)[0] : undefined;
      const typed = run !== undefined ? JSON.parse(readFileSync(join(runs, run, 'pipeline.json'), 'utf8')) : undefined;
      const result = { label, code, elapsedMs: Date.now() - t0, loadBefore: load, loadAfter: os.loadavg()[0], metrics: data };
      if (data) result.firstRedMs = firstRedOfJobs(data.steps);
      if (verbose) result.firstRed = firstRedOfSingleJob(stamped);
      say(
        `  exit ${code}; ${data ? `critical path ${s(data.totals.criticalPathMs)}, agent time ${s(agentMsOf(data))}${canceledAgentMs(data) > 0 ? ` (${s(canceledAgentMs(data))} of it canceled jobs on a fleet)` : ''}, ${data.totals.installs} npm ci, ${data.totals.restores} restores, ${data.totals.nxExecuted} Nx tasks ran / ${data.totals.nxCached} cached` : 'no metrics'}${result.firstRedMs !== undefined ? `; first red ${s(result.firstRedMs)}` : ''}${result.firstRed ? `; first red (Nx task ${result.firstRed.tasks.join(', ')}) ${s(result.firstRed.ms)}` : ''}`,
      );
      resolve({ result, typed });
    });
  });
}

const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
const results = {
  startedAt: new Date().toISOString(),
  stepGranularity: process.env.BENCH_GRANULARITY ?? 'checks (default)',
  base,
  services,
  commits,
  nodeImage,
  cpus: os.cpus().length,
  modes: {},
};
// BENCH_KEEP=<results.json of an earlier run>: keep its modes that this run does not measure, so
// one report covers runs made at different times (each mode says when its run started).
if (process.env.BENCH_KEEP) {
  const kept = JSON.parse(readFileSync(process.env.BENCH_KEEP, 'utf8'));
  for (const [mode, out] of Object.entries(kept.modes))
    if (!MODES.includes(mode)) results.modes[mode] = { startedAt: kept.startedAt, base: kept.base, proposed: kept.proposed ?? 'in-place', ...out };
}
const save = () => writeFileSync(join(work, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

/** Removes the images this bench's builds left in the shared engine (tagged with a bench commit), so no build reuses another's layers. */
function removeImages() {
  const shas = [base, ...Object.values(commits)];
  const refs = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' })
    .split('\n')
    .filter((ref) => shas.some((sha) => ref.endsWith(`:${sha}`)));
  if (refs.length > 0) execFileSync('docker', ['rmi', '-f', ...refs], { stdio: 'ignore' });
}

/** Caches for one build: a copy of the previous build's (warm), or empty folders (cold). */
function cachesFor(dir, label, fill) {
  const caches = { depsCache: join(dir, `${label}-deps`), nxCache: join(dir, `${label}-nx`) };
  if (fill) {
    cpSync(fill.depsCache, caches.depsCache, { recursive: true });
    cpSync(fill.nxCache, caches.nxCache, { recursive: true });
  } else for (const d of Object.values(caches)) mkdirSync(d, { recursive: true });
  return caches;
}
const dropCaches = (caches) => Object.values(caches).forEach((d) => rmSync(d, { recursive: true, force: true }));

for (const mode of MODES) {
  const dir = join(work, mode);
  mkdirSync(dir, { recursive: true });
  const npmCache = mode === 'cold' ? 'cold' : 'warm';
  const out = (results.modes[mode] = { startedAt: new Date().toISOString(), base, rows: {} });
  let fill;
  if (mode === 'warm') {
    fill = { depsCache: join(dir, 'fill-deps'), nxCache: join(dir, 'fill-nx') };
    out.fill = (await build(`${mode}-previous-build`, { branch: 'bench-base', pipeline: fillCachesPipeline({ cachePlugin, checksAgents }), npmCache, ...fill })).result;
    save();
  }
  for (const name of CHANGES) {
    const branch = `bench-${name === 'all' ? 'halow' : name}`;
    const row = (out.rows[name] = {});
    let caches = cachesFor(dir, `${name}-ours`, fill);
    const ours = await build(`${mode}-${name}-ours`, { branch, all: name === 'all', npmCache, ...caches });
    row.ours = ours.result;
    dropCaches(caches);
    save();
    if (ours.typed === undefined) continue;
    caches = cachesFor(dir, `${name}-single`, fill);
    const pipeline = singleJobPipeline(ours.typed, { nx: name === 'all' ? runManyArgs() : affectedArgs(base), cachePlugin, checksAgents });
    row.single = (await build(`${mode}-${name}-single`, { branch, pipeline, npmCache, verbose: true, ...caches })).result;
    dropCaches(caches);
    save();
    writeFileSync(join(here, 'RESULTS.md'), renderReport(results, { seed: SEED }).text);
  }
  if (SEED) {
    const caches = cachesFor(dir, 'seed', undefined);
    out.seed = (await build(`${mode}-seed`, { branch: 'bench-base', pipeline: baselinePipeline({ commit: base, registry: ecr }), npmCache, ...caches, nxCache: 'off' })).result;
    save();
  }
}

const report = renderReport(results, { seed: SEED });
writeFileSync(join(here, 'RESULTS.md'), report.text);
console.log(report.text);
say(`\nraw: ${join(work, 'results.json')} (logs and per-build JSON beside it)`);
