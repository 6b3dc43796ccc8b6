import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentStore } from './agent-store.js';

/**
 * The local `buildkite-agent`: exactly the subcommands and flags the generated pipelines and the
 * bootstrap use, backed by the run folder (`AgentStore`). Anything else exits 2 naming what is
 * emulated, so a pipeline that starts using another subcommand fails locally first.
 */

/** Variables the runner sets in every job for this executable. */
export const AGENT_ENV = { state: 'ENGEX_LOCAL_AGENT_STATE', step: 'BUILDKITE_STEP_KEY' } as const;

export interface AgentIo {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** The whole of stdin ('' when it is a terminal or closed). */
  stdin: () => Promise<string>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const EMULATED_SUBCOMMANDS = [
  'meta-data set <key> [value]',
  'meta-data get <key> [--default <value>]',
  'meta-data exists <key>',
  'artifact upload <pattern[;pattern]>',
  'artifact download <query> <destination> [--step <key>]',
  'annotate [body] [--context <c>] [--style success|info|warning|error] [--append]',
  'pipeline upload [file]',
] as const;

const STYLES = ['success', 'info', 'warning', 'error'];

class AgentUsageError extends Error {}

export async function agentMain(io: AgentIo): Promise<number> {
  const state = io.env[AGENT_ENV.state];
  if (!state) {
    io.stderr(`buildkite-agent (local): ${AGENT_ENV.state} is not set; this executable only runs inside \`engex-pipeline run --local\` jobs.\n`);
    return 2;
  }
  try {
    return await dispatch(new AgentStore(state), io);
  } catch (error) {
    const parseError = String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    if (!(error instanceof AgentUsageError) && !parseError) throw error;
    io.stderr(`buildkite-agent (local): ${(error as Error).message}\nEmulated here:\n${EMULATED_SUBCOMMANDS.map((c) => `  buildkite-agent ${c}`).join('\n')}\n`);
    return 2;
  }
}

function args(argv: readonly string[], options: Record<string, { type: 'string' | 'boolean' }>, positionals: [min: number, max: number], usage: string) {
  const { values, positionals: pos } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  if (pos.length < positionals[0] || pos.length > positionals[1]) throw new AgentUsageError(`expected \`buildkite-agent ${usage}\`, got ${JSON.stringify(argv)}`);
  return { values, pos };
}

async function dispatch(store: AgentStore, io: AgentIo): Promise<number> {
  const [group, sub, ...rest] = io.argv;
  const command = group === 'annotate' ? 'annotate' : `${group ?? ''} ${sub ?? ''}`;
  const tail = group === 'annotate' ? io.argv.slice(1) : rest;
  switch (command) {
    case 'meta-data set': {
      const { pos } = args(tail, {}, [1, 2], 'meta-data set <key> [value]');
      const value = pos[1] ?? (await io.stdin());
      if (value.trim() === '') {
        io.stderr(`buildkite-agent meta-data set ${pos[0]}: the value is empty (Buildkite refuses empty meta-data)\n`);
        return 1;
      }
      await store.setMetaData(pos[0]!, value);
      return 0;
    }
    case 'meta-data get': {
      const { values, pos } = args(tail, { default: { type: 'string' } }, [1, 1], 'meta-data get <key> [--default <value>]');
      const value = (await store.getMetaData(pos[0]!)) ?? (values.default as string | undefined);
      if (value === undefined) {
        io.stderr(`buildkite-agent meta-data get ${pos[0]}: no such key in this build (the step that sets it did not run)\n`);
        return 1;
      }
      io.stdout(value);
      return 0;
    }
    case 'meta-data exists': {
      const { pos } = args(tail, {}, [1, 1], 'meta-data exists <key>');
      // Buildkite's documented status for a missing key.
      return (await store.getMetaData(pos[0]!)) === undefined ? 100 : 0;
    }
    case 'artifact upload': {
      const { pos } = args(tail, {}, [1, 1], 'artifact upload <pattern[;pattern]>');
      const step = io.env[AGENT_ENV.step] ?? '';
      const files = await store.uploadArtifacts(step, io.cwd, pos[0]!.split(';').filter(Boolean));
      io.stderr(files.length > 0 ? `Uploaded ${files.length} artifact(s): ${files.join(', ')}\n` : `No files matched ${pos[0]}\n`);
      return 0;
    }
    case 'artifact download': {
      const { values, pos } = args(tail, { step: { type: 'string' } }, [2, 2], 'artifact download <query> <destination> [--step <key>]');
      const files = await store.downloadArtifacts(pos[0]!, resolve(io.cwd, pos[1]!), values.step as string | undefined);
      if (files.length === 0) {
        io.stderr(`buildkite-agent artifact download: no artifacts found for ${pos[0]}${values.step ? ` from step ${String(values.step)}` : ''}\n`);
        return 1;
      }
      io.stderr(`Downloaded ${files.join(', ')}\n`);
      return 0;
    }
    case 'annotate': {
      const { values, pos } = args(
        tail,
        { context: { type: 'string' }, style: { type: 'string' }, append: { type: 'boolean' } },
        [0, 1],
        'annotate [body] [--context c] [--style s] [--append]',
      );
      const style = (values.style as string | undefined) ?? 'default';
      if (style !== 'default' && !STYLES.includes(style)) throw new AgentUsageError(`annotate --style: expected one of ${STYLES.join(', ')}, got ${JSON.stringify(style)}`);
      const body = pos[0] ?? (await io.stdin());
      await store.annotate((values.context as string | undefined) ?? 'default', style, body, values.append === true);
      return 0;
    }
    case 'pipeline upload': {
      const { pos } = args(tail, {}, [0, 1], 'pipeline upload [file]');
      const text = pos[0] !== undefined ? await readFile(resolve(io.cwd, pos[0]), 'utf8') : await io.stdin();
      const file = await store.recordUpload(text);
      io.stderr(`Pipeline recorded in ${file} (a local run executes the pipeline it planned; uploads are kept, not run)\n`);
      return 0;
    }
    default:
      throw new AgentUsageError(`\`buildkite-agent ${io.argv.slice(0, 2).join(' ')}\` is not emulated locally`);
  }
}
