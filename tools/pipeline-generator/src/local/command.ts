import { generate } from '../io/generate.js';
import { UsageError } from '../core/errors.js';
import { parseFlags, type CliIo } from '../cli-args.js';
import { runLocal, type LocalRunFlags } from './run-local.js';

export const RUN_USAGE = `Usage: engex-pipeline run --local [--base <ref>] [--head <ref>] [--all] [--verbose] [--approve]

Generates the pipeline exactly as \`generate\` does and runs its steps on this machine, in
depends_on order: a local registry stands in for ECR, a local bare git repo for the ops repo,
and the local Docker engine builds the images. Nothing is left running when it ends.

  --base, --head, --all   as for \`generate\`
  --verbose               stream every step's output (default: progress lines, logs to files)
  --approve               unblock the deploy approvals (block steps); without it they wait,
                          and the deploys behind them do not run

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
