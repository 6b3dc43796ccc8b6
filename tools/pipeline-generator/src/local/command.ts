import { generate } from '../io/generate.js';
import { UsageError } from '../core/errors.js';
import { SELECTION_OPTIONS, parseFlags, readSelection, type CliIo } from '../cli-args.js';
import { resolve } from 'node:path';
import { runLocal, type LocalRunFlags } from './run-local.js';
import { readPipelineFile } from './pipeline-file.js';

export const RUN_USAGE = `Usage: engex-pipeline run --local [--base <ref>] [--head <ref>] [--all] [--verbose] [--approve]
         [--deps-cache <dir>] [--nx-cache <dir>|off] [--npm-cache cold|warm] [--metrics-json <file>]
         [--pipeline <pipeline.json>]

Generates the pipeline exactly as \`generate\` does and runs the uploaded YAML on this machine,
in depends_on order, as Buildkite agents would: each job in a fresh clone of the commit (nothing
gitignored, as after the agent's git clean), its command text interpolated as at upload and run
under \`bash -e -c\`, a local \`buildkite-agent\` on PATH (meta-data, artifacts, annotations,
pipeline upload) and the plugins emulated from their pinned versions. A local registry stands in
for ECR, a local bare git repo for the ops repo, the local Docker engine builds the images.
Nothing is left running when it ends.

  --base, --head, --all   as for \`generate\`
  --verbose               stream every step's output (default: progress lines, logs to files)
  --approve               unblock the deploy approvals (block steps); without it they wait,
                          and the deploys behind them do not run
  --fresh-agents          accepted for older scripts: every job runs on a fresh agent anyway
  --deps-cache <dir>      the cache plugin's folder (its fs backend); default: this run's
  --nx-cache <dir>|off    the Nx cache the agents share (a stand-in for a remote cache);
                          off: each agent has only its own; default: this run's
  --npm-cache cold|warm   cold: an empty npm download cache per job; warm (default): the machine's
  --metrics-json <file>   also write the per-job figures (install, Nx cache, critical path) as JSON
  --pipeline <file>       run this typed pipeline (JSON of the Pipeline model) instead of
                          generating one; its steps are for HEAD

Environment (a job sees only PATH, HOME, USER, LOGNAME, SHELL, LANG, LC_*, TERM, TMPDIR, TZ,
DOCKER_HOST and DOCKER_CONFIG of it, plus its queue's secrets):
  REGISTRY=host:port      use this registry (default: start docker-registry on a free port)
  NODE_IMAGE=<image>      base image of the shared Dockerfile (default: engex.config.json nodeImage)
  ENGEX_LOCAL_STATE=<dir> state folder (default: <workspace>/.engex-local)
  DOCKER_HOST             the Docker engine (default: the local socket)

Exit status: 0 when every step passed or was skipped with a reason, else the first failing
step's (3: an image tag already points at a different image), 4 when a part is missing.`;

export function parseRunArgs(argv: readonly string[]): LocalRunFlags {
  const v = parseFlags(
    argv,
    {
      ...SELECTION_OPTIONS,
      local: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      approve: { type: 'boolean' },
      'fresh-agents': { type: 'boolean' },
      'deps-cache': { type: 'string' },
      'nx-cache': { type: 'string' },
      'npm-cache': { type: 'string' },
      'metrics-json': { type: 'string' },
      pipeline: { type: 'string' },
    },
    RUN_USAGE,
  );
  if (v['local'] !== true) {
    throw new UsageError('Only `run --local` exists: on Buildkite the pipeline runs through `buildkite-agent pipeline upload`.', { hint: RUN_USAGE });
  }
  const npmCache = (v['npm-cache'] as string | undefined) ?? 'warm';
  if (npmCache !== 'cold' && npmCache !== 'warm') throw new UsageError(`--npm-cache must be cold or warm, got ${JSON.stringify(npmCache)}.`);
  const text = (name: string): string | undefined => (typeof v[name] === 'string' ? v[name] : undefined);
  const flags: LocalRunFlags = {
    ...readSelection(v),
    verbose: v['verbose'] === true,
    approve: v['approve'] === true,
    agents: { npmCache, depsCache: text('deps-cache'), nxCache: text('nx-cache'), metricsJson: text('metrics-json') },
    pipelineFile: text('pipeline'),
  };
  if (flags.pipelineFile !== undefined && (flags.all || flags.base !== undefined || flags.head !== undefined)) {
    throw new UsageError('--pipeline runs the given pipeline: --all, --base and --head do not apply.');
  }
  return flags;
}

/** `engex-pipeline run --local`: returns the run's exit status; errors go to the CLI's one catch. */
export async function runLocalCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const flags = parseRunArgs(argv);
  if (io.self === undefined) throw new UsageError('run --local needs to know how to start this CLI again (its jobs call it as `buildkite-agent`): run it through bin.ts.');
  return runLocal({
    cwd: io.cwd,
    agentCommand: io.self,
    env: io.env,
    flags,
    stderr: io.stderrStream ?? { write: (chunk) => io.stderr(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()) },
    now: io.now,
    generate: async (f, env) => {
      if (f.pipelineFile !== undefined) return readPipelineFile(resolve(io.cwd, f.pipelineFile), io.cwd, env);
      const result = await generate({ env, base: f.base, head: f.head, all: f.all });
      return {
        pipeline: result.pipeline,
        commit: result.context.commit,
        branch: result.context.branch ?? 'HEAD',
        defaultBranch: result.context.defaultBranch,
        pullRequest: result.context.pullRequest !== undefined ? String(result.context.pullRequest) : 'false',
        summary: result.summary(false),
      };
    },
  });
}
