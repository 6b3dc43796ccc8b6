import { CONTEXT_ENV } from '../lib/context.js';
import { DEADLINE_ENV } from '../lib/deadlines.js';

// Pure: what a command is (its flags, help text) and the typed arguments derived from it. The
// call contract, the parser, help and every handler read these types; nothing here does I/O, so
// `@engex/ci-lib/contract` can import the whole command table.

export interface FlagSpec {
  name: string;
  type: 'string' | 'boolean';
  /** Placeholder in help, e.g. `<p>`. */
  value?: string;
  required?: boolean;
  /** Boolean flags that also accept `--no-<name>`. */
  negatable?: boolean;
  description: string;
}

export interface CommandSpec {
  /** `image build`. */
  name: string;
  summary: string;
  /** Short form for the command list, e.g. `--project <p>`. */
  synopsis: string;
  /** The paragraph `--help` prints after the summary. */
  details: string;
  flags: readonly FlagSpec[];
  positionals: readonly { name: string; description: string }[];
  /** What it prints on stdout. */
  output: readonly string[];
  /** Env variables it reads. */
  env: readonly string[];
  exit: string;
}

/**
 * What a command module writes: `flags` is its help's flag table, one flag per line, label and
 * description apart by two or more spaces. The label says everything the parser needs:
 *
 *     --tag <sha>               required, takes a value
 *     [--digest <sha256:…>]     optional, takes a value
 *     [--create]                a switch
 *     [--[no-]ignore-unfixed]   a switch that also has its --no- form
 *
 * The table the reader sees is the one that parses: no second list of names to keep in step.
 */
export type CommandSource = Omit<CommandSpec, 'flags'> & { flags: string };

type TrimStart<S extends string> = S extends ` ${infer R}` ? TrimStart<R> : S;
type FlagOfLabel<L extends string, D extends string> = L extends `[--[no-]${infer N}]`
  ? { name: N; type: 'boolean'; negatable: true; description: D }
  : L extends `[--${infer N} ${infer V}]`
    ? { name: N; type: 'string'; value: V; description: D }
    : L extends `[--${infer N}]`
      ? { name: N; type: 'boolean'; description: D }
      : L extends `--${infer N} ${infer V}`
        ? { name: N; type: 'string'; value: V; required: true; description: D }
        : never;
type FlagOfLine<Line extends string> = TrimStart<Line> extends `${infer L}  ${infer D}` ? FlagOfLabel<L, TrimStart<D>> : never;
type AddFlag<Acc extends readonly FlagSpec[], Line extends string> = [FlagOfLine<Line>] extends [never] ? Acc : [...Acc, FlagOfLine<Line>];
/** The flag table's text → its flags, as literal types (what `ArgsOf` reads). */
export type FlagsOf<S extends string, Acc extends readonly FlagSpec[] = []> = S extends `${infer Line}\n${infer Rest}` ? FlagsOf<Rest, AddFlag<Acc, Line>> : AddFlag<Acc, S>;

const FLAG_LINE = /^(?:\[--\[no-\]([a-z0-9-]+)\]|\[--([a-z0-9-]+)(?: (\S+))?\]|--([a-z0-9-]+) (\S+)) {2,}(\S.*)$/;

/** Runtime twin of `FlagsOf`; a line it cannot read is a bug in a command module, reported at load. */
export function parseFlagTable(text: string, command: string): FlagSpec[] {
  const flags: FlagSpec[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = FLAG_LINE.exec(line);
    if (!m)
      throw new Error(`${command}: cannot read flag line ${JSON.stringify(line)}; write "--name <value>  description", "[--name <value>]  …", "[--name]  …" or "[--[no-]name]  …"`);
    const [, negatable, optional, optionalValue, required, requiredValue, description] = m;
    const flag: FlagSpec = negatable
      ? { name: negatable, type: 'boolean', negatable: true, description: description! }
      : optional
        ? optionalValue
          ? { name: optional, type: 'string', value: optionalValue, description: description! }
          : { name: optional, type: 'boolean', description: description! }
        : { name: required!, type: 'string', value: requiredValue!, required: true, description: description! };
    if (flags.some((f) => f.name === flag.name)) throw new Error(`${command}: --${flag.name} is in the flag table twice`);
    flags.push(flag);
  }
  return flags;
}

/** Prose written indented inside a template literal → the paragraph, without the indent or the blank ends. */
export function dedent(text: string): string {
  const lines = text.replace(/^\s*\n|\n\s*$/g, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent).trimEnd()).join('\n');
}

/** A command module's source → its spec, with the flag table parsed (and typed) once. */
export function defineSpec<const S extends CommandSource>(source: S): Omit<S, 'flags'> & { flags: FlagsOf<S['flags']> } {
  return { ...source, details: dedent(source.details), flags: parseFlagTable(source.flags, source.name) as unknown as FlagsOf<S['flags']> };
}

// A flag shared between commands is one line of their flag tables, declared once here.

export const PROJECT_FLAG = '--project <p>  Nx project name (@engex/halow) or service folder name (halow); must carry the engex:service tag';

export const IMAGE_ENV = [...CONTEXT_ENV, DEADLINE_ENV.registryMs, DEADLINE_ENV.awsMs];
export const AWS_ENV = 'AWS_* (the SDK default credential chain; AWS_ENDPOINT_URL_ECR)';

/** `digest-file` → `digestFile`. */
export type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

type FlagValue<F extends FlagSpec> = F extends { type: 'boolean' } ? boolean : string;

type FlagFields<Flags extends readonly FlagSpec[]> = {
  [F in Flags[number] as F extends { required: true } ? CamelCase<F['name']> : never]: FlagValue<F>;
} & {
  [F in Flags[number] as F extends { required: true } ? never : CamelCase<F['name']>]?: FlagValue<F>;
};

type PositionalFields<P extends CommandSpec['positionals']> = P extends readonly [] ? unknown : { args: { readonly [K in keyof P]: string } };

type Flatten<T> = { [K in keyof T]: T[K] };

/**
 * A command's typed arguments: one field per flag (kebab-case name in camelCase: `--digest-file`
 * is `digestFile`; a string flag takes its text, a boolean flag `true`/`false`, a required flag is
 * required) and, for a command with positionals, `args` in the spec's order.
 */
export type ArgsOf<C extends CommandSpec> = Flatten<FlagFields<C['flags']> & PositionalFields<C['positionals']>>;

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Parsed flags and positionals → the fields of `ArgsOf<command>` (the parser checked them against the spec). */
export function argsFields(command: CommandSpec, flags: Readonly<Record<string, string | boolean>>, positionals: readonly string[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(flags)) fields[camelCase(name)] = value;
  if (command.positionals.length > 0) fields['args'] = [...positionals];
  return fields;
}
