import { LocalPlanError } from '../core/errors.js';

/**
 * Buildkite's upload-time interpolation (`buildkite-agent pipeline upload`, the
 * buildkite/interpolate library), applied to a step's text before the agent runs it:
 * - `$$` and `\$` are a literal `$`;
 * - `$NAME` and `${NAME}` are the variable's value, empty when unset;
 * - `${NAME:-word}` (unset or empty) and `${NAME-word}` (unset) give a default;
 * - `${NAME:?word}` fails the upload when unset or empty;
 * - `${NAME:offset}` and `${NAME:offset:length}` are substrings (a negative offset after a space).
 * Anything else after `$` (a digit, a space, `${NAME%…}` patterns) is refused, loudly: the
 * upload would fail on Buildkite (`$0`, issue buildkite/agent#715) or this emulation does not
 * cover it. Pure.
 */
export function interpolate(text: string, env: Readonly<Record<string, string | undefined>>): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\' && text[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (c !== '$') {
      out += c;
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = text.indexOf('}', i + 2);
      if (end < 0) throw new LocalPlanError(`Interpolation: unterminated \${ in ${JSON.stringify(excerpt(text, i))}.`);
      out += expand(text.slice(i + 2, end), env, text);
      i = end + 1;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))?.[0];
    if (name === undefined) {
      throw new LocalPlanError(
        `Interpolation: "$" must start a variable name, "\${…}", "$$" or "\\$", got ${JSON.stringify(excerpt(text, i))}. ` +
          'Buildkite refuses this upload too; escape a literal dollar as $$.',
      );
    }
    out += env[name] ?? '';
    i += 1 + name.length;
  }
  return out;
}

function expand(body: string, env: Readonly<Record<string, string | undefined>>, text: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(.*)$/s.exec(body);
  if (!m) throw new LocalPlanError(`Interpolation: \${${body}} does not start with a variable name.`);
  const [, name, rest] = m as unknown as [string, string, string];
  const value = env[name];
  if (rest === '') return value ?? '';
  if (rest.startsWith(':-')) return value === undefined || value === '' ? rest.slice(2) : value;
  if (rest.startsWith('-')) return value === undefined ? rest.slice(1) : value;
  if (rest.startsWith(':?') || rest.startsWith('?')) {
    const unset = rest.startsWith('?') ? value === undefined : value === undefined || value === '';
    if (unset) throw new LocalPlanError(`Interpolation: ${name}: ${rest.replace(/^:?\?/, '') || 'not set'} (in ${JSON.stringify(excerpt(text, text.indexOf(body)))}).`);
    return value ?? '';
  }
  const sub = /^: ?(-?\d+)(?::(\d+))?$/.exec(rest);
  if (sub) {
    const v = value ?? '';
    const offset = Number(sub[1]);
    const start = offset < 0 ? Math.max(v.length + offset, 0) : offset;
    if (start > v.length) return '';
    return sub[2] === undefined ? v.slice(start) : v.slice(start, start + Number(sub[2]));
  }
  throw new LocalPlanError(`Interpolation: \${${body}} is not emulated locally (supported: \${NAME}, :-, -, :?, ?, :offset:length).`);
}

function excerpt(text: string, at: number): string {
  return text.slice(Math.max(0, at - 20), at + 20);
}
