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
  details: readonly string[];
  flags: readonly FlagSpec[];
  positionals: readonly { name: string; description: string }[];
  /** What it prints on stdout. */
  output: readonly string[];
  /** Env variables it reads. */
  env: readonly string[];
  exit: string;
}

// Each command's spec is declared `as const ... satisfies CommandSpec` so its names stay literal:
// the types below turn them into the command's typed arguments. A flag shared between commands is
// declared once here.

export const PROJECT_FLAG = {
  name: 'project',
  type: 'string',
  value: '<p>',
  required: true,
  description: 'Nx project name (@engex/halow) or service folder name (halow); must carry the engex:service tag',
} as const satisfies FlagSpec;

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
