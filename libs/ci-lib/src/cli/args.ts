import { UsageError } from '../lib/errors.js';
import { COMMANDS, GLOBAL_FLAGS, type CommandSpec, type FlagSpec } from './commands.js';

export type ParsedArgs =
  | { kind: 'help'; command?: CommandSpec; group?: string }
  | { kind: 'run'; command: CommandSpec; flags: Record<string, string | boolean>; positionals: string[]; workspace?: string };

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

const GROUPS = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]!))];

/** Pure: argv (without node and script) → a command to run or help to show. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  let help = false;
  let workspace: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '-h' || token === '--help') help = true;
    else if (token === '--workspace' || token.startsWith('--workspace=')) {
      const value = token.includes('=') ? token.slice('--workspace='.length) : argv[++i];
      if (value === undefined || value === '' || (!token.includes('=') && value.startsWith('--'))) throw new UsageError('--workspace needs a directory');
      workspace = value;
    } else rest.push(token);
  }

  const words: string[] = [];
  while (rest.length > 0 && !rest[0]!.startsWith('-') && words.length < 2) words.push(rest.shift()!);
  if (words.length === 0) {
    if (help) return { kind: 'help' };
    if (rest.length > 0) throw new UsageError(`unknown flag ${rest[0]} before a command; run engex-ci --help`);
    throw new UsageError('missing command; run engex-ci --help');
  }
  const group = words[0]!;
  if (!GROUPS.includes(group)) throw new UsageError(`unknown command ${JSON.stringify(group)}${suggest(group, GROUPS)}; run engex-ci --help`);
  const subs = COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name.split(' ')[1]!);
  if (words.length < 2) {
    if (help) return { kind: 'help', group };
    throw new UsageError(`engex-ci ${group} needs a subcommand: ${subs.join(', ')}`);
  }
  const command = COMMANDS.find((c) => c.name === `${group} ${words[1]}`);
  if (!command) throw new UsageError(`unknown command "engex-ci ${group} ${words[1]}"${suggest(words[1]!, subs)}; subcommands: ${subs.join(', ')}`);
  if (help) return { kind: 'help', command };

  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const known = command.flags;
  const name = command.name;
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (!token.startsWith('--') || token === '--') {
      if (token === '--') {
        positionals.push(...rest.slice(i + 1));
        break;
      }
      if (token.startsWith('-') && token !== '-') throw new UsageError(`${name}: unknown flag ${token}; flags are --long only (see engex-ci ${command.name} --help)`);
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const key = token.slice(2, eq === -1 ? undefined : eq);
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
      if (eq !== -1) throw new UsageError(`${name}: --${key} takes no value`);
      flags[spec.name] = !negated;
      continue;
    }
    const value = eq !== -1 ? token.slice(eq + 1) : rest[++i];
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new UsageError(`${name}: --${spec.name} needs a value ${spec.value ?? ''}`.trimEnd());
    if (value === '') throw new UsageError(`${name}: --${spec.name} must not be empty`);
    flags[spec.name] = value;
  }
  const missing = known.filter((f) => f.required && flags[f.name] === undefined);
  if (missing.length > 0) throw new UsageError(`${name}: missing ${missing.map((f) => `--${f.name} ${f.value ?? ''}`.trim()).join(', ')}`);
  if (positionals.length > command.positionals.length) {
    throw new UsageError(`${name}: unexpected argument ${JSON.stringify(positionals[command.positionals.length])}`);
  }
  if (positionals.length < command.positionals.length) {
    throw new UsageError(`${name}: missing <${command.positionals[positionals.length]!.name}>`);
  }
  return { kind: 'run', command, flags, positionals, ...(workspace !== undefined ? { workspace } : {}) };
}
