import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UsageError } from '../lib/errors.js';

// Flag values that need more than the parser's string/boolean: each checked once, with a message
// naming the flag, the value and what is allowed.

/** A whole number in [min, max]; undefined when the flag is absent. */
export function wholeNumber(flag: string, text: string | undefined, min: number, max: number, meaning?: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,16}$/.test(text) || Number(text) < min || Number(text) > max)
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}${meaning ? ` (${meaning})` : ''}, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** `--format table|json`, table by default. */
export function outputFormat(text: string | undefined): 'table' | 'json' {
  const format = text ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format must be table or json, got ${JSON.stringify(format)}`);
  return format;
}

/** `10m`, `90s`, `1500ms` or plain milliseconds. */
export function duration(flag: string, text: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (!m) throw new UsageError(`--${flag} ${JSON.stringify(text)} is not a duration; use e.g. 10m, 90s or 1500ms`);
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 's' ? 1000 : 1);
}

/** `14d` or `36h` → ms. */
export function maxAge(text: string): number {
  const match = /^(\d{1,5})([dh])$/.exec(text);
  if (!match || Number(match[1]) === 0) throw new UsageError(`--max-age must be a number of days or hours such as 14d or 36h, got ${JSON.stringify(text)}`);
  return Number(match[1]) * (match[2] === 'd' ? 86_400_000 : 3_600_000);
}

/**
 * One value another step recorded in a file (`image push --digest-file`, `deploy bump
 * --ops-commit-file`, or meta-data), trimmed and checked against `pattern`.
 */
export async function readRecord(path: string, flag: string, file: string, expect: { pattern: RegExp; what: string; writer?: string }): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--${flag} ${file}: cannot read it (${(error as Error).message})${expect.writer ? `; ${expect.writer}` : ''}`);
  }
  const value = text.trim();
  if (!expect.pattern.test(value)) throw new UsageError(`--${flag} ${file}: expected ${expect.what}, got ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

/** Writes one value for a later step to read with `readRecord`. */
export async function writeRecord(path: string, value: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${value}\n`);
}
