// bench:agents' figures and report: ours against the Nx-guide single job, per row and mode.
// Pure: every figure arrives in the results (run.mjs measures them).

/** Issue 23's targets, as ratios ours / single job. */
export const TARGETS = {
  criticalPath: { halow: 0.8, 'service-kit': 0.6 },
  agent: 1.2,
  firstRed: 0.5,
};

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
export const plain = (line) => line.replace(ANSI, '');

/** When each job starts and ends with free agents: after its dependencies (a step not measured, e.g. skipped, at 0). */
const fleetStart = (finish, dependsOn) => Math.max(0, ...dependsOn.map((d) => finish.get(d) ?? 0));

/**
 * Ours' first red signal with free agents: the earliest a failing job can end, i.e. the longest
 * depends_on chain of measured walls that ends at a failed job (Buildkite shows the build as
 * failing from that moment). `steps` come in execution order, each after its dependencies.
 */
export function firstRedOfJobs(steps) {
  return fleetOfJobs(steps).red;
}

function fleetOfJobs(steps) {
  const finish = new Map();
  let red;
  for (const s of steps) {
    const at = fleetStart(finish, s.dependsOn) + s.wallMs;
    finish.set(s.key, at);
    if (s.status === 'failed' && (red === undefined || at < red)) red = at;
  }
  return { finish, red };
}

/**
 * What the jobs canceled by `cancel_on_build_failing` cost a fleet. The local runner runs one job
 * at a time and never starts them (no wall), but free agents start each when its dependencies
 * end, and it runs until the build turns failing (the first red), if that is later. `metrics` is
 * the runner's agents.json: `canceled` lists those jobs with their dependencies (each one's
 * dependencies ended: the runner leaves a job whose dependency did not pass "not run").
 */
export function canceledAgentMs(metrics) {
  const canceled = metrics?.canceled ?? [];
  if (canceled.length === 0) return 0;
  const { finish, red } = fleetOfJobs(metrics.steps);
  if (red === undefined) return 0;
  return canceled.reduce((ms, c) => ms + Math.max(0, red - fleetStart(finish, c.dependsOn)), 0);
}

/** Agent time: the sum of job walls, plus what canceled jobs cost a fleet. */
export const agentMsOf = (metrics) => (metrics?.totals === undefined ? undefined : metrics.totals.agentMs + canceledAgentMs(metrics));

/**
 * The single job's first red signal: when the first failed Nx task ended, from the job's start.
 * With `--outputStyle=static` and several tasks, Nx prints a task's `> nx run <task>` block when
 * the task exits (static-run-many-terminal-output-life-cycle, printTaskTerminalOutput), and lists
 * the failed ones after `Failed tasks:`; `lines` are the run's stderr lines (`run --local
 * --verbose` streams the job's output) each stamped when the bench read it.
 */
export function firstRedOfSingleJob(lines) {
  const text = lines.map((l) => plain(l.line));
  const failedAt = text.findIndex((l) => /Failed tasks:/.test(l));
  if (failedAt === -1) return undefined;
  const failed = new Set();
  for (const l of text.slice(failedAt + 1, failedAt + 50)) {
    const m = /^\s*- (\S+:\S+)\s*$/.exec(l);
    if (m) failed.add(m[1]);
  }
  const start = lines.find((l) => /^--- \[1\/1\]/.test(plain(l.line)))?.t;
  const end = lines.find((l, i) => {
    const m = /^\s*> nx run (\S+)/.exec(text[i]);
    return m !== null && failed.has(m[1]);
  })?.t;
  return start !== undefined && end !== undefined ? { ms: end - start, tasks: [...failed] } : undefined;
}

const s = (ms) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const r = (a, b) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
const x = (v) => (v === undefined ? '-' : `${v.toFixed(2)}×`);

/** One row's comparison of a variant (ours, or the proposed re-cut) with the single job, and the targets it meets or misses. */
export function compareRow(mode, name, row, variant = 'ours', proposed = undefined) {
  const o = row[variant]?.metrics?.totals;
  const b = row.single?.metrics?.totals;
  const cmp = {
    cp: r(o?.criticalPathMs, b?.criticalPathMs),
    agent: r(agentMsOf(row[variant]?.metrics), agentMsOf(row.single?.metrics)),
    red: r(row[variant]?.firstRedMs, row.single?.firstRed?.ms),
  };
  const checks = [];
  const who = variant === 'ours' ? '' : ` (${variant}${proposed ? `, ${proposed}` : ''})`;
  const check = (what, value, limit) => checks.push({ what: `${name} ${mode}${who}: ${what} ≤ ${limit}×`, value, limit, met: value !== undefined && value <= limit });
  const cpLimit = TARGETS.criticalPath[name];
  if (cpLimit !== undefined) check('critical path', cmp.cp, cpLimit);
  check('agent-seconds', cmp.agent, TARGETS.agent);
  if (name === 'failing') check('time to first red', cmp.red, TARGETS.firstRed);
  return { cmp, checks };
}

export const VARIANTS = ['ours', 'proposed'];

export function renderReport(results, { seed }) {
  const lines = [
    '# bench:agents results',
    '',
    `Written by \`npm run bench:agents\` (bench/agents/run.mjs), started ${results.startedAt}. ${results.cpus} CPUs; load average (1 min) before/after each build in the table. Base ${results.base.slice(0, 12)}${results.services ? ` (services: ${results.services.join(', ')})` : ''}; ours with stepGranularity ${results.stepGranularity ?? 'target (default)'}.`,
    "ours: the generated pipeline. single: the Nx-guide single job (bench/agents/single-job.mjs) on one agent, same dependency cache, same Nx cache, same image work. proposed (older results only): ours re-cut as proposed.mjs described, a design the generator has since adopted (a service's image job from its build job's artifacts).",
    'Critical path: the longest depends_on chain of measured job walls (what a fleet with free agents takes; the single job: its wall). Agent time: the sum of job walls, plus, for each job canceled by `cancel_on_build_failing` (never started here, jobs run one at a time), max(0, first red - when its dependencies ended): what it would run on a fleet before the cancel.',
    'First red: ours, the earliest end of a failed job with free agents; single, when the failed Nx task ended (its `> nx run` block, printed at task exit) counted from the job start. "job red" is when the single job itself ended red (what Buildkite shows as the job status).',
    '',
  ];
  const all = [];
  const load = (b) => (b ? `${b.loadBefore.toFixed(1)}/${b.loadAfter.toFixed(1)}` : '-');
  for (const [mode, out] of Object.entries(results.modes)) {
    lines.push(`## ${mode}`, '');
    if (out.startedAt) lines.push(`Measured from ${out.startedAt} on base ${out.base.slice(0, 12)}.`, '');
    if (out.fill)
      lines.push(
        `Previous build (fills the caches: ${out.fill.label}): exit ${out.fill.code}, wall ${s(out.fill.metrics?.totals.agentMs)}, ${out.fill.metrics?.totals.installs ?? '-'} npm ci, load ${load(out.fill)}.`,
        '',
      );
    if (seed && out.seed) {
      const t = out.seed.metrics?.totals;
      lines.push(
        `Seed-shaped baseline (2 jobs, everything, no caches): exit ${out.seed.code}, critical path ${s(t?.criticalPathMs)}, agent time ${s(t?.agentMs)}, ${t?.installs ?? '-'} npm ci.`,
        '',
      );
    }
    lines.push(
      '| row | variant | exit (variant / single) | jobs | critical path (variant / single) | ratio | agent time (variant / single) | ratio | npm ci (variant / single) | restores (variant / single) | first red (variant / single; job red) | ratio | load (variant; single) |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    for (const [name, row] of Object.entries(out.rows)) {
      const b = row.single?.metrics?.totals;
      for (const variant of VARIANTS.filter((v) => row[v] !== undefined)) {
        const o = row[variant].metrics?.totals;
        const { cmp, checks } = compareRow(mode, name, row, variant, out.proposed);
        all.push(...checks);
        const red = name === 'failing' ? `${s(row[variant].firstRedMs)} / ${s(row.single?.firstRed?.ms)}; ${s(b?.agentMs)}` : '-';
        lines.push(
          `| ${name} | ${variant === 'proposed' && out.proposed ? `proposed (${out.proposed})` : variant} | ${row[variant].code} / ${row.single?.code ?? '-'} | ${row[variant].metrics?.steps.length ?? '-'}${row[variant].metrics?.canceled?.length ? ` (+${row[variant].metrics.canceled.length} canceled)` : ''} / 1 | ${s(o?.criticalPathMs)} / ${s(b?.criticalPathMs)} | ${x(cmp.cp)} | ${s(agentMsOf(row[variant].metrics))} / ${s(agentMsOf(row.single?.metrics))} | ${x(cmp.agent)} | ${o?.installs ?? '-'} / ${b?.installs ?? '-'} | ${o?.restores ?? '-'} / ${b?.restores ?? '-'} | ${red} | ${name === 'failing' ? x(cmp.red) : '-'} | ${load(row[variant])}; ${load(row.single)} |`,
        );
      }
    }
    lines.push('');
  }
  lines.push('## Targets (variant / single job)', '');
  for (const c of all) lines.push(`- ${c.met ? 'met' : 'MISSED'}: ${c.what} (${x(c.value)})`);
  lines.push(
    '',
    'Trivy is not installed here: the scan steps of ours are SKIPPED by the local runner (0 s) and the single job leaves the scans out. The branch has no deploy target: no deploy in either.',
    '',
  );
  return { text: lines.join('\n'), checks: all };
}
