import { describe, expect, it } from 'vitest';
import { interpolate } from './interpolate.js';

describe('interpolate (Buildkite upload-time rules)', () => {
  const env = { BRANCH: 'feat/x', EMPTY: '', SHA: 'abcdef123456' };

  it('turns $$ and \\$ into a literal dollar and leaves shell variables to the shell', () => {
    expect(interpolate('exit "$${ENGEX_DEFERRED_STATUS:-0}" && echo \\$HOME $$?', env)).toBe('exit "${ENGEX_DEFERRED_STATUS:-0}" && echo $HOME $?');
  });

  it('expands variables, defaults, substrings; unset is empty', () => {
    expect(interpolate('$BRANCH ${BRANCH} [$UNSET] ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${SHA:0:7} ${SHA: -4}', env)).toBe('feat/x feat/x [] d d  abcdef1 3456');
  });

  it('fails loudly where Buildkite fails or the emulation stops', () => {
    expect(() => interpolate('echo $0', env)).toThrow(/must start a variable name/);
    expect(() => interpolate('${EMPTY:?needs a value}', env)).toThrow(/EMPTY: needs a value/);
    expect(() => interpolate('${SHA%%12}', env)).toThrow(/not emulated/);
    expect(() => interpolate('${SHA', env)).toThrow(/unterminated/);
  });
});
