// A design the generator could adopt, measured before anyone changes the planner: our typed
// pipeline of the same commit, re-cut (BENCH_PROPOSED=1 runs it as a third column):
//   1. a service's image job builds the service itself and smokes the image in place: no separate
//      `build` job before it and no smoke job after it (two clones, restores and Nx start-ups
//      fewer on the critical path and in agent time); its scan job still follows it; a test that
//      needs the build (halow's `test` dependsOn `build`) builds it in its own job;
//   2. every other affected target of a project (lint, typecheck, test) in one `nx run-many` job,
//      as `stepGranularity: "project"` does (one clone and restore per project, not per target);
//      projects without an image keep their `build` in that job too.
// Steps that depended on a removed job depend on the job that does its work now.
import { commandSteps } from './single-job.mjs';

const CHECK_KINDS = new Set(['nx-task']);

/** The engex-ci bundle the image steps run (libs/ci-lib/bin/engex-ci.cjs forwards to it). */
const ENGEX_CI_BUNDLE = 'libs/ci-lib/dist/engex-ci.cjs';
/** What `engex-ci image build` reads from a service's build: the bundle the Dockerfile copies and esbuild's metafile (its SBOM's source). */
const serviceFiles = (service) => [`apps/${service}/dist/main.cjs`, `apps/${service}/dist/meta.json`];

/**
 * `lean: false` (BENCH_PROPOSED=1): 1 and 2 above. `lean: true` (BENCH_PROPOSED=lean): 2, and a
 * service keeps its own `build` job, which also builds the engex-ci bundle and uploads both as
 * artifacts; its image job then needs no node_modules at all (no restore, no Nx: it downloads the
 * two files, builds, pushes and smokes the image), which is where our jobs spent most of their
 * time under load (a restore is 20,000 files unpacked).
 */
export function proposedPipeline(ours, { lean = false } = {}) {
  const steps = commandSteps(ours);
  const groups = new Map(ours.steps.filter((s) => s.type === 'group').map((g) => [g.key, g.steps.map((s) => s.key)]));
  const imageOf = new Map(steps.filter((s) => s.meta.kind === 'image').map((s) => [s.meta.project, s]));
  const moved = new Map(); // removed key -> key of the job that does its work now
  // Builds of services: no check job waits for them; a job whose task needs one runs it itself
  // (Nx runs a task's dependency tasks, from the shared cache when another job already built it).
  const builds = new Set();
  const merged = new Map(); // project -> its checks job
  const out = [];
  const noNodeModules = (c) => c.kind !== 'install' && c.kind !== 'artifact-download' && !(lean && c.kind === 'nx');
  for (const step of steps) {
    const { meta } = step;
    const image = imageOf.get(meta.project);
    if (CHECK_KINDS.has(meta.kind) && meta.target === 'build' && image !== undefined) {
      builds.add(step.key);
      if (!lean) continue;
      const setup = image.commands.filter((c) => c.kind === 'nx' && c.project !== meta.project);
      const files = [...serviceFiles(image.meta.service), ENGEX_CI_BUNDLE];
      out.push({ ...step, commands: [...step.commands, ...setup], artifactPaths: [...step.artifactPaths, ...files] });
      continue;
    }
    if (lean && meta.kind === 'image') {
      const build = steps.find((s) => builds.has(s.key) && s.meta.project === meta.project);
      const files = [...serviceFiles(meta.service), ENGEX_CI_BUNDLE];
      const downloads = files.map((path) => ({ kind: 'artifact-download', path, step: build.key }));
      out.push({ ...step, plugins: step.plugins.filter((p) => !p.ref.startsWith('cache#')), commands: [...downloads, ...step.commands.filter(noNodeModules)] });
      continue;
    }
    if (CHECK_KINDS.has(meta.kind)) {
      let job = merged.get(meta.project);
      if (job === undefined) {
        job = {
          ...step,
          key: `${step.key.slice(0, step.key.lastIndexOf(':'))}:checks`,
          label: `checks ${meta.project}`,
          targets: [],
          dependsOn: [],
          plugins: [],
          artifactPaths: [],
          env: {},
          timeoutInMinutes: 0,
        };
        merged.set(meta.project, job);
        out.push(job);
      }
      job.targets.push(meta.target);
      job.dependsOn.push(...step.dependsOn);
      for (const p of step.plugins) if (!job.plugins.some((q) => q.ref === p.ref)) job.plugins.push(p);
      job.artifactPaths.push(...step.artifactPaths);
      Object.assign(job.env, step.env);
      job.timeoutInMinutes += step.timeoutInMinutes;
      moved.set(step.key, job.key);
      continue;
    }
    if (meta.kind === 'smoke' && imageOf.has(meta.project)) {
      const image = out.find((s) => s.key === imageOf.get(meta.project).key);
      image.commands = [...image.commands, ...step.commands.filter(noNodeModules)];
      moved.set(step.key, image.key);
      continue;
    }
    out.push({ ...step, commands: [...step.commands] });
  }
  for (const job of merged.values()) {
    job.commands = [{ kind: 'install' }, { kind: 'exec', argv: ['npx', 'nx', 'run-many', '-t', job.targets.join(','), '-p', job.meta.project, '--outputStyle=static'] }];
    job.meta = { kind: 'nx-project', project: job.meta.project, targets: job.targets, taskIds: job.targets.map((t) => `${job.meta.project}:${t}`) };
    delete job.targets;
  }
  const resolve = (key) => (moved.has(key) ? resolve(moved.get(key)) : key);
  for (const step of out) {
    const deps = step.dependsOn
      .flatMap((d) => groups.get(d) ?? [d])
      .filter((d) => !builds.has(d) || (lean && step.meta.kind === 'image'))
      .map(resolve);
    step.dependsOn = [...new Set(deps)].filter((d) => d !== step.key);
  }
  return { notify: ours.notify, steps: out };
}
