import { parseArgsWith } from './cli/args.js';
import { COMMAND_ALIASES } from './cli/commands.js';
import { createCommandContext, type CliIo } from './cli/context.js';
import { RUNNABLE_COMMANDS } from './cli/run-table.js';
import { renderCommandHelp, renderGroupHelp, renderRootHelp } from './cli/help.js';
import { EngexError, UsageError, exitCodeFor, type ExitCode } from './lib/errors.js';
import { redactingWriter, secretsFromEnv } from './lib/redact.js';
import { renderVersion } from '@engex/workspace-config';

export type { CliIo } from './cli/context.js';

/**
 * The whole `engex-ci` executable as a function: parse, run one command, and map any error to
 * the exit-code contract in this one catch (libraries only throw).
 */
export async function main(argv: readonly string[], rawIo: CliIo): Promise<ExitCode> {
  // The edge: every byte engex-ci prints passes `redact`, with the env's secret values as known ones.
  const known = secretsFromEnv(rawIo.env);
  const out = redactingWriter(rawIo.stdout, known);
  const err = redactingWriter(rawIo.stderr, known);
  const io: CliIo = { ...rawIo, stdout: out.write, stderr: err.write };
  try {
    return await run(argv, io);
  } finally {
    out.flush();
    err.flush();
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  try {
    if (argv.length === 1 && argv[0] === '--version') {
      io.stdout(renderVersion(io.build?.() ?? { name: 'engex-ci', version: 'unknown' }));
      return 0;
    }
    const parsed = parseArgsWith(expandAlias(argv), RUNNABLE_COMMANDS);
    if (parsed.kind === 'help') {
      io.stdout(parsed.command ? renderCommandHelp(parsed.command) : parsed.group ? renderGroupHelp(parsed.group) : renderRootHelp());
      return 0;
    }
    return await parsed.command.run(parsed.flags, parsed.positionals, createCommandContext(io, parsed.workspace));
  } catch (error) {
    const code = exitCodeFor(error);
    if (error instanceof EngexError) {
      io.stderr(`engex-ci: ${error.message}\n`);
      if (error instanceof UsageError) io.stderr('Run `engex-ci --help` or `engex-ci <command> --help` for usage.\n');
    } else {
      io.stderr(`engex-ci: unexpected error (treated as infrastructure failure, exit ${code}):\n${(error as Error)?.stack ?? String(error)}\n`);
    }
    return code;
  }
}

/** `status` → `deploy status`, `images` → `image list`: the first word that is not a global flag or its value. */
function expandAlias(argv: readonly string[]): readonly string[] {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--workspace') i++;
    else if (!token.startsWith('-')) {
      const alias = COMMAND_ALIASES[token];
      return alias ? [...argv.slice(0, i), ...alias, ...argv.slice(i + 1)] : argv;
    }
  }
  return argv;
}
