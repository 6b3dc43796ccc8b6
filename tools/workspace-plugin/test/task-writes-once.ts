import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/**
 * A generator that edits a file outside the Nx tree does it in the task it returns (so
 * `--dry-run` never writes it): the file is unchanged until that task runs, and a second run of
 * generator and task changes nothing more. Returns the file after the first task.
 */
export async function expectTaskWritesOnce(file: string, run: (attempt: 1 | 2) => Promise<() => unknown>): Promise<string> {
  const before = readFileSync(file, 'utf8');
  const task = await run(1);
  expect(readFileSync(file, 'utf8')).toBe(before);
  await task();
  const once = readFileSync(file, 'utf8');
  await (
    await run(2)
  )();
  expect(readFileSync(file, 'utf8')).toBe(once);
  return once;
}
