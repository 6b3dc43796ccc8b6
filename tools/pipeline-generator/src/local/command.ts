import { generate } from '../io/generate.js';
import { UsageError } from '../core/errors.js';
import { runLocal, type LocalRunFlags } from './run-local.js';

export const RUN_USAGE = `Usage: engex-pipeline run --local [--base <ref>] [--head <ref>] [--all] [--verbose]

Generates the pipeline exactly as \`generate\` does and runs its steps on this machine, in
depends_on order: a local registry stands in for ECR, a local bare git repo for the ops repo,
and the local Docker engine builds the images. Nothing is left running when it ends.

  --base, --head, --all   as for \`generate\`
  --verbose               stream every step's output (default: progress lines, logs to files)

Environment:
  REGISTRY=host:port      use this registry (default: start docker-registry on a free port)
  NODE_IMAGE=<image>      base image of the shared Dockerfile (default: engex.config.json nodeImage)
  ENGEX_LOCAL_STATE=<dir> state folder (default: <workspace>/.engex-local)
  DOCKER_HOST             the Docker engine (default: the local socket)

Exit status: 0 when every step passed or was skipped with a reason, else the first failing
step's (3: an image tag already points at a different image), 4 when a part is missing.`;

export function parseRunArgs(argv: readonly string[]): LocalRunFlags {
  const flags: LocalRunFlags = { all: false, verbose: false };
  let local = false;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string => {
      const v = eq > 0 && raw.startsWith('--') ? raw.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value.\n\n${RUN_USAGE}`);
      return v;
    };
    switch (flag) {
      case '--local': local = true; break;
      case '--base': flags.base = value(); break;
      case '--head': flags.head = value(); break;
      case '--all': flags.all = true; break;
      case '--verbose': case '-v': flags.verbose = true; break;
      default:
        throw new UsageError(`Unknown option ${JSON.stringify(raw)}.\n\n${RUN_USAGE}`);
    }
  }
  if (!local) throw new UsageError(`Only \`run --local\` exists: on Buildkite the pipeline runs through \`buildkite-agent pipeline upload\`.\n\n${RUN_USAGE}`);
  if (flags.all && flags.base !== undefined) throw new UsageError('--all and --base contradict each other; pass one.');
  return flags;
}

/** `engex-pipeline run --local`: sets the exit status; errors go to the CLI's one catch. */
export async function runLocalCommand(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(`${RUN_USAGE}\n`);
    return;
  }
  const flags = parseRunArgs(argv);
  process.exitCode = await runLocal({
    cwd: process.cwd(),
    env: process.env,
    flags,
    stderr: process.stderr,
    now: () => new Date(),
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
