import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '@engex/ci-lib';
import { generate } from './io/generate.js';
import { GeneratorError, UsageError } from './core/errors.js';
import { renderPipeline, renderUploads, type PipelineFormat } from './core/render.js';
import { LocalSetupError, runLocalCommand } from './local/index.js';

const USAGE = `Usage: engex-pipeline generate [options]
       engex-pipeline run --local [options]   (runs it on this machine; see run --help)

Prints the Buildkite pipeline for what the change affects (stdout) and a summary (stderr).

  --base <ref>      compare with this ref (wins over NX_BASE and the automatic rules)
  --head <ref>      compare up to this ref (default: HEAD on Buildkite, the working tree locally)
  --all             run every project, whatever changed
  --strict-base     fail (exit 1) instead of running everything when no base can be found
  --format <f>      yaml (default) or json
  --explain         add each project's changed files and dependency path to the summary
  --out-dir <dir>   write pipeline-001.yml, pipeline-002.yml, … (one per upload) instead of stdout

Exit codes: 0 ok, 1 no base under --strict-base or invalid pipeline, 2 usage or configuration,
4 git, Nx or Buildkite API failure.`;

interface GenerateArgs {
  base?: string;
  head?: string;
  all: boolean;
  strictBase: boolean;
  format: PipelineFormat;
  explain: boolean;
  outDir?: string;
}

function parseGenerateArgs(argv: readonly string[]): GenerateArgs {
  const args: GenerateArgs = { all: false, strictBase: false, format: 'yaml', explain: false };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : undefined;
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value.\n\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--base': args.base = value(); break;
      case '--head': args.head = value(); break;
      case '--all': args.all = true; break;
      case '--strict-base': args.strictBase = true; break;
      case '--explain': args.explain = true; break;
      case '--out-dir': args.outDir = value(); break;
      case '--format': {
        const f = value();
        if (f !== 'yaml' && f !== 'json') throw new UsageError(`--format must be yaml or json, got ${JSON.stringify(f)}.`);
        args.format = f;
        break;
      }
      default:
        throw new UsageError(`Unknown option ${JSON.stringify(raw)}.\n\n${USAGE}`);
    }
  }
  if (args.all && args.base !== undefined) throw new UsageError('--all and --base contradict each other; pass one.');
  return args;
}

async function runGenerate(argv: readonly string[], stdout: (text: string) => void): Promise<void> {
  const args = parseGenerateArgs(argv);
  const result = await generate({
    env: process.env,
    ...(args.base !== undefined ? { base: args.base } : {}),
    ...(args.head !== undefined ? { head: args.head } : {}),
    all: args.all,
    strictBase: args.strictBase,
  });
  if (args.outDir !== undefined) {
    const dir = resolve(args.outDir);
    await mkdir(dir, { recursive: true });
    // A stale file from an earlier run would be uploaded too.
    for (const f of await readdir(dir)) if (/^pipeline-\d+\.(yml|json)$/.test(f)) await rm(join(dir, f));
    const ext = args.format === 'json' ? 'json' : 'yml';
    for (const [i, upload] of result.uploads.entries()) {
      await writeFile(join(dir, `pipeline-${String(i + 1).padStart(3, '0')}.${ext}`), renderPipeline(upload, args.format));
    }
    process.stderr.write(`engex-pipeline: wrote ${result.uploads.length} upload(s) to ${args.outDir}\n`);
  } else {
    stdout(renderUploads(result.uploads, args.format));
  }
  process.stderr.write(result.summary(args.explain));
}

/** Subcommands; `run` (the local runner) registers here. */
const SUBCOMMANDS: Record<string, (argv: readonly string[], stdout: (text: string) => void) => Promise<void>> = {
  generate: runGenerate,
  run: runLocalCommand,
};

function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return 2;
  if (error instanceof GeneratorError) {
    switch (error.code) {
      case 'ENV_INVALID':
      case 'USAGE':
        return 2;
      case 'BASE_UNAVAILABLE':
      case 'PIPELINE_INVALID':
        return 1;
      default:
        return 4;
    }
  }
  return 4;
}

async function main(argv: readonly string[]): Promise<void> {
  // stdout carries only the pipeline: anything Nx or a plugin prints goes to stderr instead.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  const stdout = (text: string): void => {
    write(text);
  };
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stderr.write(`${USAGE}\n`);
    if (command === undefined) process.exitCode = 2;
    return;
  }
  const run = SUBCOMMANDS[command];
  if (!run) throw new UsageError(`Unknown command ${JSON.stringify(command)}.\n\n${USAGE}`);
  await run(rest, stdout);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`engex-pipeline: ${error instanceof Error ? error.message : String(error)}\n`);
  if (!(error instanceof GeneratorError) && !(error instanceof ConfigError) && !(error instanceof LocalSetupError) && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  process.exitCode = exitCodeFor(error);
});
