import { generate } from '../io/generate.js';
import { UsageError } from '../core/errors.js';
import { parseFlags, type CliIo } from '../cli-args.js';
import { resolve } from 'node:path';
import { runLocal, type LocalRunFlags } from './run-local.js';
import { readPipelineFile } from './pipeline-file.js';

export const RUN_USAGE = `Usage: engex-pipeline run --local [--base <ref>] [--head <ref>] [--all] [--verbose] [--approve]
         [--fresh-agents [--deps-cache <dir>] [--nx-cache <dir>|off] [--npm-cache cold|warm] [--metrics-json <file>]]
         [--pipeline <pipeline.json>]

Generates the pipeline exactly as \`generate\` does and runs its steps on this machine, in
depends_on order: a local registry stands in for ECR, a local bare git repo for the ops repo,
and the local Docker engine builds the images. Nothing is left running when it ends.

  --base, --head, --all   as for \`generate\`
  --verbose               stream every step's output (default: progress lines, logs to files)
  --approve               unblock the deploy approvals (block steps); without it they wait,
                          and the deploys behind them do not run
  --fresh-agents          run each step as an ephemeral Buildkite agent: a fresh clone of the
                          commit (under the temp folder) with no node_modules and no Nx cache;
                          only the cache plugin, artifacts, meta-data, the registry and the Nx
                          cache carry over. Ends with per-step install and Nx-cache figures,
                          agent time, critical path and install counts
  --deps-cache <dir>      the cache plugin's folder (its fs backend); default: this run's
  --nx-cache <dir>|off    the Nx cache the agents share (a stand-in for a remote cache);
                          off: each agent has only its own; default: this run's
  --npm-cache cold|warm   cold: an empty npm download cache per job; warm (default): the machine's
  --metrics-json <file>   also write the fresh-agents figures as JSON
  --pipeline <file>       run this typed pipeline (JSON of the Pipeline model) instead of
                          generating one; its steps are for HEAD

Environment:
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
      local: { type: 'boolean' },
      base: { type: 'string' },
      head: { type: 'string' },
      all: { type: 'boolean' },
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
  const flags: LocalRunFlags = {
    all: v['all'] === true,
    verbose: v['verbose'] === true,
    ...(v['approve'] === true ? { approve: true } : {}),
    ...(typeof v['base'] === 'string' ? { base: v['base'] } : {}),
    ...(typeof v['head'] === 'string' ? { head: v['head'] } : {}),
  };
  if (flags.all && flags.base !== undefined) throw new UsageError('--all and --base contradict each other; pass one.');
  const agentFlags = ['deps-cache', 'nx-cache', 'npm-cache', 'metrics-json'].filter((f) => v[f] !== undefined);
  if (v['fresh-agents'] !== true && agentFlags.length > 0) throw new UsageError(`--${agentFlags[0]} applies to fresh agents: add --fresh-agents.`, { hint: RUN_USAGE });
  if (v['fresh-agents'] === true) {
    const npmCache = (v['npm-cache'] as string | undefined) ?? 'warm';
    if (npmCache !== 'cold' && npmCache !== 'warm') throw new UsageError(`--npm-cache must be cold or warm, got ${JSON.stringify(npmCache)}.`);
    flags.freshAgents = {
      npmCache,
      ...(typeof v['deps-cache'] === 'string' ? { depsCache: v['deps-cache'] } : {}),
      ...(typeof v['nx-cache'] === 'string' ? { nxCache: v['nx-cache'] } : {}),
      ...(typeof v['metrics-json'] === 'string' ? { metricsJson: v['metrics-json'] } : {}),
    };
  }
  if (typeof v['pipeline'] === 'string') {
    if (flags.all || flags.base !== undefined || flags.head !== undefined) throw new UsageError('--pipeline runs the given pipeline: --all, --base and --head do not apply.');
    flags.pipelineFile = v['pipeline'];
  }
  return flags;
}

/** `engex-pipeline run --local`: returns the run's exit status; errors go to the CLI's one catch. */
export async function runLocalCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const flags = parseRunArgs(argv);
  return runLocal({
    cwd: io.cwd,
    env: io.env,
    flags,
    stderr: io.stderrStream ?? { write: (chunk) => io.stderr(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()) },
    now: io.now,
    generate: async (f, env) => {
      if (f.pipelineFile !== undefined) return readPipelineFile(resolve(io.cwd, f.pipelineFile), io.cwd, env);
      const result = await generate({
        env,
        ...(f.base !== undefined ? { base: f.base } : {}),
        ...(f.head !== undefined ? { head: f.head } : {}),
        all: f.all,
      });
      return {
        pipeline: result.pipeline,
        commit: result.context.commit,
        branch: result.context.branch ?? 'HEAD',
        defaultBranch: result.context.defaultBranch,
        summary: result.summary(false),
      };
    },
  });
}
