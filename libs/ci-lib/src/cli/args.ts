import { parseArgs as nodeParseArgs } from 'node:util';
import { UsageError } from '../lib/errors.js';
import { COMMANDS, GLOBAL_FLAGS, type CommandSpec, type FlagSpec } from './commands.js';

export type ParsedArgs<C extends CommandSpec = CommandSpec> =
  { kind: 'help'; command?: C; group?: string } | { kind: 'run'; command: C; flags: Record<string, string | boolean>; positionals: string[]; workspace?: string };

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function suggest(input: string, candidates: readonly string[]): string {
  const best = candidates.map((c) => ({ c, d: distance(input, c) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(input.length / 3)) ? `; did you mean ${best.c}?` : '';
}

type Token = NonNullable<ReturnType<typeof tokenize>['tokens']>[number];

/**
 * node:util's parser splits argv (long/short options, `--x=v`, `--no-x`, `--`); the checks below
 * turn each token into our messages (unknown flag with a suggestion, twice, missing value...).
 * Not strict: node's own errors cannot name the command or suggest a flag.
 */
function tokenize(args: readonly string[], flags: readonly FlagSpec[]) {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const f of flags) options[f.name] = { type: f.type };
  return nodeParseArgs({ args: [...args], options, strict: false, allowPositionals: true, allowNegative: true, tokens: true });
}

const GLOBALS: readonly FlagSpec[] = [
  { name: 'help', type: 'boolean', description: '' },
  { name: 'workspace', type: 'string', description: '' },
];

/** Pure: argv (without node and script) → a command of the table to run or help to show. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  return parseArgsWith(argv, COMMANDS);
}

/**
 * `parseArgs` over any table whose entries are command specs: `main` passes the runnable commands
 * (spec + handler), so what it gets back is the command to run, not a name to look up.
 */
export function parseArgsWith<C extends CommandSpec>(argv: readonly string[], commands: readonly C[]): ParsedArgs<C> {
  const groups = [...new Set(commands.map((c) => c.name.split(' ')[0]!))];
  // Pass 1: the global flags, anywhere, and the command words before any other flag.
  let help = false;
  let workspace: string | undefined;
  const consumed = new Set<number>();
  const words: string[] = [];
  let flagSeen = false;
  for (const token of tokenize(argv, GLOBALS).tokens) {
    if (token.kind === 'option-terminator') break;
    if (token.kind === 'positional') {
      if (!flagSeen && words.length < 2) {
        words.push(token.value);
        consumed.add(token.index);
      }
      continue;
    }
    if (token.rawName === '-h' || token.rawName === '--help') {
      help = true;
      consumed.add(token.index);
    } else if (token.rawName === '--workspace') {
      const value = token.value;
      if (value === undefined || value === '' || (!token.inlineValue && value.startsWith('--'))) throw new UsageError('--workspace needs a directory');
      workspace = value;
      consumed.add(token.index);
      if (!token.inlineValue) consumed.add(token.index + 1);
    } else flagSeen = true;
  }
  const rest = argv.filter((_, i) => !consumed.has(i));

  if (words.length === 0) {
    if (help) return { kind: 'help' };
    if (rest.length > 0) throw new UsageError(`unknown flag ${rest[0]} before a command; run engex-ci --help`);
    throw new UsageError('missing command; run engex-ci --help');
  }
  const group = words[0]!;
  if (!groups.includes(group)) throw new UsageError(`unknown command ${JSON.stringify(group)}${suggest(group, groups)}; run engex-ci --help`);
  const subs = commands.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name.split(' ')[1]!);
  if (words.length < 2) {
    if (help) return { kind: 'help', group };
    throw new UsageError(`engex-ci ${group} needs a subcommand: ${subs.join(', ')}`);
  }
  const command: C | undefined = commands.find((c) => c.name === `${group} ${words[1]}`);
  if (!command) throw new UsageError(`unknown command "engex-ci ${group} ${words[1]}"${suggest(words[1]!, subs)}; subcommands: ${subs.join(', ')}`);
  if (help) return { kind: 'help', command };

  // Pass 2: the command's own flags and positionals.
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const known: readonly FlagSpec[] = command.flags;
  const name = command.name;
  const readFlag = (token: Extract<Token, { kind: 'option' }>): void => {
    if (!token.rawName.startsWith('--')) {
      throw new UsageError(`${name}: unknown flag ${rest[token.index]}; flags are --long only (see engex-ci ${command.name} --help)`);
    }
    const key = token.rawName.slice(2);
    let spec: FlagSpec | undefined = known.find((f) => f.name === key);
    let negated = false;
    if (!spec && key.startsWith('no-')) {
      spec = known.find((f) => f.name === key.slice(3) && f.negatable);
      negated = spec !== undefined;
    }
    if (!spec) {
      const all = [...known.map((f) => `--${f.name}`), ...GLOBAL_FLAGS.map((f) => `--${f.name}`)];
      throw new UsageError(`${name}: unknown flag --${key}${suggest(`--${key}`, all)} (flags: ${known.map((f) => `--${f.name}`).join(', ') || 'none'})`);
    }
    if (flags[spec.name] !== undefined) throw new UsageError(`${name}: --${spec.name} given twice`);
    if (spec.type === 'boolean') {
      if (token.inlineValue) throw new UsageError(`${name}: --${key} takes no value`);
      flags[spec.name] = !negated;
      return;
    }
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.startsWith('--'))) throw new UsageError(`${name}: --${spec.name} needs a value ${spec.value ?? ''}`.trimEnd());
    if (value === '') throw new UsageError(`${name}: --${spec.name} must not be empty`);
    flags[spec.name] = value;
  };
  for (const token of tokenize(rest, known).tokens) {
    if (token.kind === 'option') readFlag(token);
    else if (token.kind === 'positional') positionals.push(token.value);
  }
  const missing = known.filter((f) => f.required && flags[f.name] === undefined);
  if (missing.length > 0) throw new UsageError(`${name}: missing ${missing.map((f) => `--${f.name} ${f.value ?? ''}`.trim()).join(', ')}`);
  if (positionals.length > command.positionals.length) {
    throw new UsageError(`${name}: unexpected argument ${JSON.stringify(positionals[command.positionals.length])}`);
  }
  if (positionals.length < command.positionals.length) {
    throw new UsageError(`${name}: missing <${command.positionals[positionals.length]!.name}>`);
  }
  return { kind: 'run', command, flags, positionals, workspace };
}
