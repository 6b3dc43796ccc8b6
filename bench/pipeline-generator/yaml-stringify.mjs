// Measures `yaml.stringify` (yaml 2.9.1, `{ aliasDuplicateObjects: false, lineWidth: 0 }`, as the
// house style requires) against the generator's own emitter on the same Buildkite pipeline:
// `syntheticPlanInput(1000)` with everything affected, about 3,000 jobs in one document.
// Cold: a fresh process per sample, timing the first call (and, for yaml, loading the library,
// which a CLI pays on every run). Warm: the median of further calls in the same process.
// Run: `node bench/pipeline-generator/yaml-stringify.mjs` (no build needed; esbuild bundles the
// TypeScript sources). BENCH_ROUNDS sets the number of fresh processes per variant (default 7).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const generator = join(root, 'tools', 'pipeline-generator');
// The yaml the generator's package pins (2.9.1), not whatever the root hoisted.
const yamlPath = createRequire(join(generator, 'package.json')).resolve('yaml');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const WARM = 10;
const OPTIONS = { aliasDuplicateObjects: false, lineWidth: 0 };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
/** CPU time (user + system) of this process: on a shared machine, steadier than wall time. */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function child(variant, bundle) {
  const { planPipeline, renderPipeline, syntheticPlanInput, toBuildkite, jobCount } = createRequire(import.meta.url)(bundle);
  const pipeline = planPipeline(syntheticPlanInput(1000));
  const out = { variant, jobs: jobCount(pipeline) };
  if (variant === 'yaml') {
    let t0 = process.hrtime.bigint();
    let c0 = cpu();
    const { stringify, parse } = await import(pathToFileURL(yamlPath).href);
    out.loadMs = ms(t0);
    out.loadCpu = cpu() - c0;
    t0 = process.hrtime.bigint();
    c0 = cpu();
    // The emitter's input: the same one mapping of typed steps onto Buildkite's schema.
    const text = stringify(toBuildkite(pipeline), OPTIONS);
    out.coldMs = ms(t0);
    out.coldCpu = cpu() - c0;
    const warm = [];
    const warmCpu = [];
    for (let i = 0; i < WARM; i++) {
      t0 = process.hrtime.bigint();
      c0 = cpu();
      stringify(toBuildkite(pipeline), OPTIONS);
      warm.push(ms(t0));
      warmCpu.push(cpu() - c0);
    }
    out.warmMs = median(warm);
    out.warmCpu = median(warmCpu);
    out.bytes = text.length;
    // Both texts must mean the same pipeline, or the comparison is void.
    out.sameAsEmitter = isDeepStrictEqual(parse(text), parse(renderPipeline(pipeline, 'yaml')));
  } else {
    let t0 = process.hrtime.bigint();
    let c0 = cpu();
    const text = renderPipeline(pipeline, 'yaml');
    out.loadMs = 0;
    out.loadCpu = 0;
    out.coldMs = ms(t0);
    out.coldCpu = cpu() - c0;
    const warm = [];
    const warmCpu = [];
    for (let i = 0; i < WARM; i++) {
      t0 = process.hrtime.bigint();
      c0 = cpu();
      renderPipeline(pipeline, 'yaml');
      warm.push(ms(t0));
      warmCpu.push(cpu() - c0);
    }
    out.warmMs = median(warm);
    out.warmCpu = median(warmCpu);
    out.bytes = text.length;
  }
  process.stdout.write(JSON.stringify(out));
}

async function main() {
  const loadStart = os.loadavg();
  const dir = mkdtempSync(join(os.tmpdir(), 'engex-yaml-bench-'));
  try {
    const bundle = join(dir, 'render.cjs');
    const { build } = await import(pathToFileURL(createRequire(import.meta.url).resolve('esbuild')).href);
    await build({
      stdin: {
        contents: [
          "export { planPipeline } from './src/core/plan.ts';",
          "export { renderPipeline, toBuildkite } from './src/core/render.ts';",
          "export { jobCount } from './src/core/split.ts';",
          "export { syntheticPlanInput } from './test/fixtures.ts';",
        ].join('\n'),
        resolveDir: generator,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      conditions: ['@engex/source'],
      external: ['nx', 'nx/*', '@nx/*', 'yaml'],
      outfile: bundle,
      logLevel: 'error',
    });
    const samples = { yaml: [], emitter: [] };
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order so background load hits both alike.
      for (const variant of r % 2 ? ['emitter', 'yaml'] : ['yaml', 'emitter']) {
        const text = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', variant, bundle], {
          cwd: root,
          encoding: 'utf8',
          // The bundle lives in a temp folder; its externals (nx, yaml) resolve from the workspace.
          env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
        });
        samples[variant].push(JSON.parse(text));
      }
    }
    const m = (xs, f) => median(xs.map(f)).toFixed(0);
    const row = (name, xs) =>
      `| ${name} | ${xs[0].jobs} | ${m(xs, (x) => x.loadMs)} / ${m(xs, (x) => x.loadCpu)} ms | ${m(xs, (x) => x.coldMs)} / ${m(xs, (x) => x.coldCpu)} ms | ` +
      `${m(xs, (x) => x.loadMs + x.coldMs)} / ${m(xs, (x) => x.loadCpu + x.coldCpu)} ms | ${m(xs, (x) => x.warmMs)} / ${m(xs, (x) => x.warmCpu)} ms | ${(xs[0].bytes / 1024).toFixed(0)} KiB |`;
    const same = samples.yaml.every((x) => x.sameAsEmitter);
    const version = createRequire(join(generator, 'package.json'))('yaml/package.json').version;
    console.log(
      `yaml ${version}, node ${process.version}, ${os.cpus().length} CPUs, load average ${loadStart.map((l) => l.toFixed(2)).join(' ')} at the start, ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} at the end (shared machine), median of ${ROUNDS} fresh processes`,
    );
    console.log('');
    console.log('Each cell: wall / CPU (user + system) time.');
    console.log('');
    console.log('| variant | jobs | load library | first call (cold) | cold total | warm call (median of 10) | output |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(row('yaml.stringify', samples.yaml));
    console.log(row('hand-written emitter', samples.emitter));
    console.log('');
    console.log(`Both outputs parse to the same data: ${same ? 'yes' : 'NO'}`);
    if (!same) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
