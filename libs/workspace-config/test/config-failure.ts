import { expect } from 'vitest';
import { ConfigError, exitCodeFor } from '../src/lib/errors.js';

/**
 * The ConfigError a read rejects with. Fails the test unless the read rejects with one, as a usage
 * error (exit 2): a bad workspace file is the user's to fix, never a crash or a silent default.
 */
export async function configFailure(read: Promise<unknown>): Promise<ConfigError> {
  const error = await read.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect(exitCodeFor(error)).toBe(2);
  return error as ConfigError;
}
