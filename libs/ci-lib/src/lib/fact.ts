import { redact } from './redact.js';

/**
 * A value read from its source, or why it could not be: `unreachable: …` when the source (git,
 * ops repo, registry) did not answer, another reason when it answered without the value. Never a guess.
 */
export type Fact<T> = { ok: true; value: T } | { ok: false; reason: string };

export const ok = <T>(value: T): Fact<T> => ({ ok: true, value });
export const no = <T>(reason: string): Fact<T> => ({ ok: false, reason });
export const unreachable = <T>(error: unknown): Fact<T> => no(`unreachable: ${oneLine(error)}`);

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  // git's own diagnosis is its last `fatal:` line; the rest is the command echo.
  const fatal = lines.filter((l) => /^(fatal|error):/.test(l)).pop();
  return redact(fatal && lines[0] ? `${lines[0].replace(/:$/, '')}: ${fatal}` : lines.join(' '));
}
