import { parseArgs } from 'node:util';
import type { BuildInfo } from '@engex/workspace-config';
import { UsageError } from './core/errors.js';

/** Shared by both subcommands of the CLI: its I/O and its flag parsing. */

/** What the CLI touches of the process; `bin.ts` passes the real ones, tests their own. */
export interface CliIo {
  /** The pipeline, and nothing else. */
  stdout: (text: string) => void;
  /** Summaries, progress and errors. */
  stderr: (text: string) => void;
  /** A stream for output that arrives in chunks (a local run's step logs, its progress ticker). */
  stderrStream?: { write(chunk: string | Uint8Array): unknown; isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  now: () => Date;
  /** argv that starts this CLI's local `buildkite-agent` entry (bin.ts): what `run --local` jobs call. */
  self?: readonly string[];
  /** Package version and commit for `--version`; a function so git runs only when asked. */
  build?: () => BuildInfo;
}

/**
 * `node:util` `parseArgs`, with its errors (unknown option, missing value) turned into our
 * `UsageError` carrying `usage`, and empty values refused.
 */
export function parseFlags<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(
  argv: readonly string[],
  options: T,
  usage: string,
): Record<string, string | boolean | undefined> {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}.`, { hint: usage, cause: error });
  }
  for (const [name, value] of Object.entries(values)) {
    if (value === '') throw new UsageError(`--${name} needs a value.`, { hint: usage });
  }
  return values as Record<string, string | boolean | undefined>;
}

/** `--base`, `--head`, `--all`: which change `generate` and `run --local` plan for, the same for both. */
export const SELECTION_OPTIONS = { base: { type: 'string' }, head: { type: 'string' }, all: { type: 'boolean' } } as const;

export interface Selection {
  base?: string;
  head?: string;
  all: boolean;
}

/** The selection flags `parseFlags` read with `SELECTION_OPTIONS`, checked against each other. */
export function readSelection(values: Readonly<Record<string, string | boolean | undefined>>): Selection {
  const text = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
  const selection = { base: text(values['base']), head: text(values['head']), all: values['all'] === true };
  if (selection.all && selection.base !== undefined) throw new UsageError('--all and --base contradict each other; pass one.');
  return selection;
}
