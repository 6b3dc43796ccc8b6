import type { StepCommand } from './pipeline.js';

/** Characters that never need quoting in a POSIX shell word. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One argv token as a shell word. Anything beyond the plain set is single-quoted, where the shell
 * expands nothing (`$`, backticks, `\`, newlines are literal); a `'` becomes `'\''`.
 */
export function quoteShellArg(token: string): string {
  if (PLAIN.test(token)) return token;
  return `'${token.replaceAll("'", `'\\''`)}'`;
}

/** The shell variable that carries a deferred failure to the end of the step. */
export const DEFERRED_STATUS = 'ENGEX_DEFERRED_STATUS';

/** A command as one shell line: quoted argv, then redirections. */
export function renderShellCommand(command: StepCommand): string {
  let line = command.argv.map(quoteShellArg).join(' ');
  if (command.stdin !== undefined) line += ` < ${quoteShellArg(command.stdin)}`;
  if (command.stdout !== undefined) line += ` > ${quoteShellArg(command.stdout)}`;
  if (command.deferFailure) line += ` || ${DEFERRED_STATUS}=$?`;
  return line;
}

/**
 * A step's commands as the lines Buildkite runs with `set -e`. A deferred failure lets the rest
 * (e.g. the annotation of a failed scan gate) run, then fails the step with the same status.
 */
export function renderShellCommands(commands: readonly StepCommand[]): string[] {
  const lines = commands.map(renderShellCommand);
  if (commands.some((c) => c.deferFailure)) lines.push(`exit "\${${DEFERRED_STATUS}:-0}"`);
  return lines;
}
