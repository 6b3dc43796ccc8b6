// The pipeline an Nx user on Buildkite writes from Nx's CI guides, as a typed pipeline
// (tools/pipeline-generator src/core/pipeline.ts) for `run --local --pipeline`: ONE job on one
// agent that restores the dependency cache (the same cache plugin as ours), installs on a miss,
// runs `nx affected -t lint typecheck test build` against the build's base with the same shared Nx
// cache, then, in the same job, the same image build, push, smoke (and deploy) work our pipeline
// does for each affected service. That work is taken from OUR typed pipeline of the same commit,
// command for command, so both do the same outside work and differ only in how it is cut into jobs.

const CHECK_TARGETS = ['lint', 'typecheck', 'test', 'build'];
/** What follows the checks, per service, in our pipeline; scans are left out (below). */
const AFTER_CHECKS = new Set(['image', 'smoke', 'deploy']);

/** Every command step, groups flattened, in pipeline order (core/pipeline.ts `commandSteps`). */
export const commandSteps = (pipeline) => pipeline.steps.flatMap((s) => (s.type === 'group' ? s.steps : [s])).filter((s) => s.type === 'command');

/**
 * The cache plugin of a rendered (`generate --format json`) pipeline, as the typed model's
 * `PluginUse`: the single job and the cache-filling build restore with exactly our config.
 */
export function cachePluginOf(rendered) {
  const steps = rendered.steps.flatMap((s) => s.steps ?? [s]);
  for (const step of steps)
    for (const plugin of step.plugins ?? []) {
      const [ref, config] = Object.entries(plugin)[0];
      if (ref.startsWith('cache#')) return { ref, config };
    }
  throw new Error('no step of the generated pipeline uses the cache plugin: nothing to copy the dependency cache config from');
}

const job = ({ key, label, commands, plugins, agents, env = {}, artifactPaths = [], timeoutInMinutes = 60 }) => ({
  type: 'command',
  key,
  label,
  commands,
  dependsOn: [],
  plugins,
  timeoutInMinutes,
  agents,
  retry: [],
  env,
  artifactPaths,
  // What the job is for does not change how the runner runs it (it runs the rendered text); an
  // `nx-task` meta keeps it out of every special case (scan skip, verify skip, ops repo seeding).
  meta: { kind: 'nx-task', project: '@engex/source', target: 'affected', taskId: label },
});

/**
 * The single job for the build `ours` plans. `nx`: the Nx command's arguments after `npx nx`
 * (`['affected', ..., '--base=<sha>', '--head=HEAD']`, or `['run-many', ...]` for `--all`).
 *
 * Our build jobs' image inputs (engex-ci's build, `image sbom`) come right after the checks. Left
 * out, and why: scan steps (Trivy is not installed here, so the runner skips ours, 0 s; a
 * Trivy command inside the single job would make the runner skip the whole job); `artifact
 * download` of a file an earlier step of ours uploaded (in one job the file is already in the
 * checkout); the plan annotation, the checks gate and deploy verify (no work here). Deploy steps
 * would be merged like images, but the bench builds a branch without a deploy target, so ours has
 * none and the single job none.
 */
export function singleJobPipeline(ours, { nx, cachePlugin, checksAgents }) {
  const after = commandSteps(ours).filter((s) => AFTER_CHECKS.has(s.meta.kind));
  if (after.some((s) => s.meta.kind === 'deploy'))
    throw new Error('the single-job baseline does not merge deploy steps (their ops repo is seeded from step meta): bench a branch without a deploy target');
  const plugins = [cachePlugin];
  for (const step of after) for (const p of step.plugins) if (!p.ref.startsWith('cache#') && !plugins.some((q) => q.ref === p.ref)) plugins.push(p);
  const withImages = after.find((s) => s.meta.kind === 'image');
  const commands = [{ kind: 'install' }, { kind: 'exec', argv: ['npx', 'nx', ...nx, '--outputStyle=static'] }];
  // What our build jobs add for the image work (engex-ci's own build, `image sbom`): in one job,
  // after the checks and before the images, each once (steps share command objects).
  commands.push(...new Set(commandSteps(ours).flatMap((s) => s.commands.filter(isImageInput))));
  for (const step of after) commands.push(...step.commands.filter((c) => c.kind !== 'install' && c.kind !== 'artifact-download' && !isImageInput(c)));
  return {
    notify: [],
    steps: [
      job({
        key: 'nx-single-job',
        label: `nx ${nx[0]} -t ${CHECK_TARGETS.join(' ')}${after.length > 0 ? `, then ${after.map((s) => s.key).join(', ')}` : ''}`,
        commands,
        plugins,
        // The image step's queue (it may push); without images, the check queue.
        agents: withImages?.agents ?? checksAgents,
        env: Object.assign({}, ...after.map((s) => s.env)),
        artifactPaths: [...new Set(after.flatMap((s) => s.artifactPaths))],
        timeoutInMinutes: 60 + after.reduce((n, s) => n + s.timeoutInMinutes, 0),
      }),
    ],
  };
}

/** engex-ci's own build (an `nx` setup command) or an `image sbom` call: image inputs, not checks. */
const isImageInput = (c) => (c.kind === 'nx' && c.setup === true) || (c.kind === 'engex-ci' && c.call.command === 'image sbom');

/** `nx affected` against the build's base (the last green commit), as Nx's CI guide writes it. */
export const affectedArgs = (base) => ['affected', '-t', ...CHECK_TARGETS, `--base=${base}`, '--head=HEAD'];
/** Every project: `--all`'s single job, and the build that fills the warm caches. */
export const runManyArgs = () => ['run-many', '-t', ...CHECK_TARGETS];

/** The warm mode's previous build: one job that fills the dependency and Nx caches for the base commit. */
export function fillCachesPipeline({ cachePlugin, checksAgents }) {
  return {
    notify: [],
    steps: [
      job({
        key: 'fill-caches',
        label: `previous build: nx ${runManyArgs().join(' ')}`,
        // A failed task (a flaky test under load) must not stop the dependency cache's save, which
        // happens only after a passed command: the caches are what this build is for.
        commands: [
          { kind: 'install' },
          { kind: 'exec', argv: ['bash', '-c', `npx nx ${runManyArgs().join(' ')} --outputStyle=static || echo "some tasks failed: the caches keep what passed"`] },
        ],
        plugins: [cachePlugin],
        agents: checksAgents,
      }),
    ],
  };
}
