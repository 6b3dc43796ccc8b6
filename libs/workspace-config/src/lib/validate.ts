import type { ConfigIssue } from './errors.js';

/**
 * A tiny collector for validating `unknown` input: every problem is kept with its path so one
 * run reports all of them, not only the first.
 */
export class Issues {
  readonly list: ConfigIssue[] = [];
  constructor(readonly file: string) {}

  add(path: string, message: string): void {
    this.list.push({ file: this.file, path, message });
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** Reads an optional string that must match `pattern`; returns `fallback` when absent. */
export function readString(issues: Issues, obj: Record<string, unknown>, key: string, path: string, fallback: string, rule?: { pattern: RegExp; expected: string }): string {
  const value = obj[key];
  const at = path ? `${path}.${key}` : key;
  if (value === undefined) return fallback;
  if (typeof value !== 'string') {
    issues.add(at, `expected a string, got ${describe(value)}`);
    return fallback;
  }
  if (rule && !rule.pattern.test(value)) {
    issues.add(at, `expected ${rule.expected}, got ${describe(value)}`);
    return fallback;
  }
  return value;
}

export function readBoolean(issues: Issues, obj: Record<string, unknown>, key: string, path: string, fallback: boolean): boolean {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    issues.add(path ? `${path}.${key}` : key, `expected true or false, got ${describe(value)}`);
    return fallback;
  }
  return value;
}

/** Reads an optional nested object; a wrong type is reported and treated as empty. */
export function readObject(issues: Issues, obj: Record<string, unknown>, key: string, path: string): Record<string, unknown> {
  const value = obj[key];
  if (value === undefined) return {};
  if (!isRecord(value)) {
    issues.add(path ? `${path}.${key}` : key, `expected an object, got ${describe(value)}`);
    return {};
  }
  return value;
}

export function rejectUnknownKeys(issues: Issues, obj: Record<string, unknown>, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      issues.add(path ? `${path}.${key}` : key, `unknown key; allowed keys are ${allowed.join(', ')}`);
    }
  }
}
