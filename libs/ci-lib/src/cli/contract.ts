import { UsageError } from '../lib/errors.js';
import { parseArgs } from './args.js';
import { COMMANDS } from './commands.js';
import { argsFields, camelCase, type ArgsOf, type CommandSpec } from './spec.js';

/**
 * The engex-ci call contract: a typed call per command of the table the CLI parses (`COMMANDS`),
 * `toArgv` to spell it and `parseCall` to read argv back through the CLI's own parser. The
 * pipeline generator builds calls, never argv, so a renamed or removed flag is a type error there
 * and a failed round trip in its tests, not a red Buildkite job.
 *
 * A call is the command's name plus the same typed arguments its handler receives (`ArgsOf` in
 * spec.ts: one camelCase field per flag, `args` for positionals). Global flags (`--workspace`,
 * `--help`) are not part of a call.
 */

type Flatten<T> = { [K in keyof T]: T[K] };

type CallOf<C extends CommandSpec> = Flatten<{ command: C['name'] } & ArgsOf<C>>;

type Table = (typeof COMMANDS)[number];

/** Every command's name: `image build`, `deploy bump`, ... */
export type EngexCiCommand = Table['name'];

/** One engex-ci call as data, derived from the command table (see above). */
export type EngexCiCall = { [C in Table as C['name']]: CallOf<C> }[EngexCiCommand];

/** The call of one command, e.g. `EngexCiCallOf<'image push'>`. */
export type EngexCiCallOf<N extends EngexCiCommand> = Extract<EngexCiCall, { command: N }>;

function specOf(command: string): CommandSpec {
  const spec = (COMMANDS as readonly CommandSpec[]).find((c) => c.name === command);
  if (!spec) throw new UsageError(`unknown engex-ci command ${JSON.stringify(command)}; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
  return spec;
}

/**
 * The argument vector after `engex-ci`: the command words, the positionals, then the flags in the
 * table's order. `false` spells `--no-<flag>` for a negatable flag and nothing otherwise; an
 * absent field is left out, so engex-ci applies its own default.
 */
export function toArgv(call: EngexCiCall): string[] {
  const spec = specOf(call.command);
  const fields = call as unknown as Record<string, unknown>;
  const argv = [...spec.name.split(' ')];
  const args = (fields['args'] as readonly string[] | undefined) ?? [];
  if (args.length !== spec.positionals.length) throw new UsageError(`${spec.name}: expected ${spec.positionals.length} argument(s), got ${args.length}`);
  // A positional that starts with `-` would read as a flag: then they all go last, after `--`.
  const dashed = args.some((a) => a.startsWith('-'));
  if (!dashed) argv.push(...args);
  const known = new Set(['command', 'args', ...spec.flags.map((f) => camelCase(f.name))]);
  const unknown = Object.keys(fields).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new UsageError(`${spec.name}: no flag for ${unknown.join(', ')}; flags: ${spec.flags.map((f) => camelCase(f.name)).join(', ') || 'none'}`);
  }
  for (const flag of spec.flags) {
    const value = fields[camelCase(flag.name)];
    if (value === undefined) continue;
    if (flag.type === 'boolean') {
      if (value === true) argv.push(`--${flag.name}`);
      else if (flag.negatable) argv.push(`--no-${flag.name}`);
    } else {
      // The CLI reads `--x --y` as a missing value and refuses an empty one: refuse them here, by name.
      if (typeof value !== 'string' || value === '' || value.startsWith('--')) throw new UsageError(`${spec.name}: --${flag.name} needs a value, got ${JSON.stringify(value)}`);
      argv.push(`--${flag.name}`, value);
    }
  }
  if (dashed) argv.push('--', ...args);
  return argv;
}

/**
 * argv → call, through the CLI's parser (the same errors as engex-ci). The inverse of `toArgv`
 * up to what the CLI cannot tell apart: a non-negatable boolean flag that is `false` or absent.
 */
export function parseCall(argv: readonly string[]): EngexCiCall {
  const parsed = parseArgs(argv);
  if (parsed.kind !== 'run') throw new UsageError(`${argv.join(' ')}: asks for help, not a call`);
  if (parsed.workspace !== undefined) throw new UsageError('--workspace is a global flag, not part of an engex-ci call');
  return { command: parsed.command.name, ...argsFields(parsed.command, parsed.flags, parsed.positionals) } as unknown as EngexCiCall;
}

/**
 * The call as `parseCall` gives it back: fields left `undefined` dropped, and `false` on a
 * non-negatable boolean flag (the CLI cannot tell it from absent) dropped.
 */
export function canonicalCall(call: EngexCiCall): EngexCiCall {
  const spec = specOf(call.command);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(call)) {
    if (value === undefined) continue;
    const flag = spec.flags.find((f) => camelCase(f.name) === key);
    if (flag?.type === 'boolean' && !flag.negatable && value === false) continue;
    out[key] = value;
  }
  return out as unknown as EngexCiCall;
}
