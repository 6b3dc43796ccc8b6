import { describe, expect, it } from 'vitest';
import { ConfigError, EXIT_CODES, EngexError, InvalidInputError, UsageError, exitCodeFor } from './errors.js';

class DiskFullError extends EngexError {
  readonly code = 'DISK_FULL';
  readonly exitCode = EXIT_CODES.infrastructure;
}

describe('EngexError', () => {
  it('names the class, keeps the cause and appends the hint on its own line', () => {
    const cause = new Error('ENOSPC');
    const error = new DiskFullError('cannot write the report', { cause, hint: 'Free space under reports/ and retry.' });
    expect(error.name).toBe('DiskFullError');
    expect(error.cause).toBe(cause);
    expect(error.hint).toBe('Free space under reports/ and retry.');
    expect(error.message).toBe('cannot write the report\nFree space under reports/ and retry.');
    expect(exitCodeFor(error)).toBe(4);
  });

  it('has no hint or cause unless given', () => {
    const error = new UsageError('--project is required');
    expect(error.message).toBe('--project is required');
    expect(error.hint).toBeUndefined();
    expect('cause' in error).toBe(false);
  });
});

describe('exitCodeFor', () => {
  it.each([
    [new UsageError('x'), 2],
    [new ConfigError([{ file: 'engex.config.json', path: 'vendor', message: 'expected a string, got 1' }]), 2],
    [new InvalidInputError('BUILDKITE_COMMIT', 'abc', 'expected a sha'), 2],
    [new TypeError('bug'), 4],
    ['a thrown string', 4],
    [undefined, 4],
  ])('%s exits %i', (error, code) => {
    expect(exitCodeFor(error)).toBe(code);
  });

  it('documents the table every executable shares', () => {
    expect(EXIT_CODES).toEqual({ ok: 0, checkFailed: 1, usage: 2, conflict: 3, infrastructure: 4 });
  });
});

describe('ConfigError', () => {
  it('lists every issue with file and path, then how to fix it', () => {
    const error = new ConfigError([
      { file: 'engex.config.json', path: 'registry.account', message: 'expected a 12-digit AWS account id, got "4602"' },
      { file: 'apps/halow/package.json', path: '', message: 'service folder name "Halow" must be kebab-case' },
    ]);
    expect(error.message).toBe(
      'Invalid engex configuration (2 problems):\n' +
        '  engex.config.json: registry.account: expected a 12-digit AWS account id, got "4602"\n' +
        '  apps/halow/package.json: (root): service folder name "Halow" must be kebab-case\n' +
        'Fix the values above; the allowed forms are documented in README.md#configuration.',
    );
  });
});
