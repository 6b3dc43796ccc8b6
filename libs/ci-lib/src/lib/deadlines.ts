import { ConfigError, type ConfigIssue } from './errors.js';

/** The overall deadline of each kind of network operation, in milliseconds. */
export interface Deadlines {
  /** One registry request: auth, redirects, retries and the whole body. */
  registryMs: number;
  /** One AWS call (ECR GetAuthorizationToken), its SDK attempts included. */
  awsMs: number;
  /** One `deploy bump`: clone, fetches and pushes together; each git child is killed at the deadline. */
  gitMs: number;
}

/** Documented in README.md#deadlines-retries-and-redaction. */
export const DEFAULT_DEADLINES: Readonly<Deadlines> = { registryMs: 60_000, awsMs: 30_000, gitMs: 120_000 };

/** The variables that override them, in seconds (decimals allowed). */
export const DEADLINE_ENV: Readonly<Record<keyof Deadlines, string>> = {
  registryMs: 'ENGEX_CI_REGISTRY_DEADLINE',
  awsMs: 'ENGEX_CI_AWS_DEADLINE',
  gitMs: 'ENGEX_CI_GIT_DEADLINE',
};

/** Above a day a deadline no longer bounds anything a CI step would wait for. */
const MAX_SECONDS = 86_400;

/** Pure: the deadlines from env (empty counts as unset); every bad variable is reported at once. */
export function parseDeadlines(env: Readonly<Record<string, string | undefined>>): Deadlines {
  const issues: ConfigIssue[] = [];
  const out = { ...DEFAULT_DEADLINES };
  for (const key of Object.keys(DEADLINE_ENV) as (keyof Deadlines)[]) {
    const name = DEADLINE_ENV[key];
    const value = env[name];
    if (value === undefined || value === '') continue;
    const secondsValue = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
    if (!(secondsValue > 0 && secondsValue <= MAX_SECONDS)) {
      issues.push({ file: 'environment', path: name, message: `expected seconds between 0 and ${MAX_SECONDS} (e.g. 30 or 1.5), got ${JSON.stringify(value)}` });
      continue;
    }
    out[key] = Math.round(secondsValue * 1000);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return out;
}

/** For messages: how to give an operation more time. */
export function deadlineHint(key: keyof Deadlines): string {
  return `raise ${DEADLINE_ENV[key]} (seconds, default ${DEFAULT_DEADLINES[key] / 1000})`;
}
