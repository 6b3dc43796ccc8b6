import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { redactingWriter, secretsFromEnv } from '@engex/ci-lib';
import { EngexError, renderVersion } from '@engex/workspace-config';
import { UsageError } from './core/errors.js';
import { renderPipeline, renderUploads, type PipelineFormat } from './core/render.js';
import { generate } from './io/generate.js';
import { RUN_USAGE, runLocalCommand } from './local/index.js';
import { SELECTION_OPTIONS, parseFlags, readSelection, type CliIo } from './cli-args.js';

export type { CliIo } from './cli-args.js';

export const USAGE = `Usage: engex-pipeline generate [options]
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

export interface GenerateArgs {
  base?: string;
  head?: string;
  all: boolean;
  strictBase: boolean;
  format: PipelineFormat;
  explain: boolean;
  outDir?: string;
}

export function parseGenerateArgs(argv: readonly string[]): GenerateArgs {
  const v = parseFlags(
    argv,
    {
      ...SELECTION_OPTIONS,
      'strict-base': { type: 'boolean' },
      explain: { type: 'boolean' },
      'out-dir': { type: 'string' },
      format: { type: 'string' },
    },
    USAGE,
  );
  const format = (v['format'] as string | undefined) ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') throw new UsageError(`--format must be yaml or json, got ${JSON.stringify(format)}.`);
  return {
    ...readSelection(v),
    strictBase: v['strict-base'] === true,
    format,
    explain: v['explain'] === true,
    outDir: typeof v['out-dir'] === 'string' ? v['out-dir'] : undefined,
  };
}

async function runGenerate(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseGenerateArgs(argv);
  const result = await generate({
    env: io.env,
    base: args.base,
    head: args.head,
    all: args.all,
    strictBase: args.strictBase,
  });
  if (args.outDir !== undefined) {
    const dir = resolve(io.cwd, args.outDir);
    await mkdir(dir, { recursive: true });
    // A stale file from an earlier run would be uploaded too.
    for (const f of await readdir(dir)) if (/^pipeline-\d+\.(yml|json)$/.test(f)) await rm(join(dir, f));
    const ext = args.format === 'json' ? 'json' : 'yml';
    for (const [i, upload] of result.uploads.entries()) {
      await writeFile(join(dir, `pipeline-${String(i + 1).padStart(3, '0')}.${ext}`), renderPipeline(upload, args.format));
    }
    io.stderr(`engex-pipeline: wrote ${result.uploads.length} upload(s) to ${args.outDir}\n`);
  } else {
    io.stdout(renderUploads(result.uploads, args.format));
  }
  io.stderr(result.summary(args.explain));
  return 0;
}

const SUBCOMMANDS: Record<string, { run: (argv: readonly string[], io: CliIo) => Promise<number>; usage: string }> = {
  generate: { run: runGenerate, usage: USAGE },
  run: { run: runLocalCommand, usage: RUN_USAGE },
};

const HELP = new Set(['--help', '-h', 'help']);

/**
 * The whole `engex-pipeline` executable as a function: parse, run one command, and map any error
 * to its exit code in this one catch (libraries only throw).
 */
export async function main(argv: readonly string[], rawIo: CliIo): Promise<number> {
  // The edge, as in engex-ci's main: every byte printed passes ci-lib's `redact`, with the env's
  // secret values (BUILDKITE_API_TOKEN, …) as known ones; URLs with userinfo are masked by shape.
  const known = secretsFromEnv(rawIo.env);
  const out = redactingWriter(rawIo.stdout, known);
  const err = redactingWriter(rawIo.stderr, known);
  const raw = rawIo.stderrStream;
  const stream = raw ? redactingWriter((text) => void raw.write(text), known) : undefined;
  const io: CliIo = {
    ...rawIo,
    stdout: out.write,
    stderr: err.write,
    ...(raw && stream
      ? {
          stderrStream: {
            write: (chunk: string | Uint8Array) => stream.write(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')),
            ...(raw.isTTY !== undefined ? { isTTY: raw.isTTY } : {}),
          },
        }
      : {}),
  };
  try {
    return await run(argv, io);
  } finally {
    out.flush();
    err.flush();
    stream?.flush();
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === '--version' && rest.length === 0) {
      io.stdout(renderVersion(io.build?.() ?? { name: 'engex-pipeline', version: 'unknown' }));
      return 0;
    }
    if (command === undefined || HELP.has(command)) {
      io.stderr(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    }
    const sub = SUBCOMMANDS[command];
    if (!sub) throw new UsageError(`Unknown command ${JSON.stringify(command)}.`, { hint: USAGE });
    if (rest.some((a) => a === '--help' || a === '-h')) {
      io.stderr(`${sub.usage}\n`);
      return 0;
    }
    return await sub.run(rest, io);
  } catch (error) {
    // Every error of ours carries its exit code and, in its message, how to fix it.
    if (error instanceof EngexError) {
      io.stderr(`engex-pipeline: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr(`engex-pipeline: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return 4;
  }
}
