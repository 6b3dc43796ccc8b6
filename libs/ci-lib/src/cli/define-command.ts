import type { ExitCode } from '../lib/errors.js';
import type { CommandContext } from './context.js';
import { argsFields, type ArgsOf, type CommandSpec } from './spec.js';

/** A command's handler: its typed arguments (from its own spec) and the invocation's context. */
export type Handler<S extends CommandSpec> = (args: ArgsOf<S>, ctx: CommandContext) => Promise<ExitCode>;

/** A spec with its handler: what the parser finds and `main` runs (nx's command object). */
export interface RunnableCommand<N extends string = string> extends CommandSpec {
  name: N;
  run(flags: Readonly<Record<string, string | boolean>>, positionals: readonly string[], ctx: CommandContext): Promise<ExitCode>;
}

/**
 * Binds a handler to its spec. The parser has checked the flags against the same spec (names,
 * types, required ones, positional count), which is what makes the cast to `ArgsOf<S>` sound.
 */
export function defineCommand<S extends CommandSpec>(spec: S, handler: Handler<S>): RunnableCommand<S['name']> {
  return { ...spec, run: (flags, positionals, ctx) => handler(argsFields(spec, flags, positionals) as ArgsOf<S>, ctx) };
}
