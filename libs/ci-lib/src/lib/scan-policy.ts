import { SEVERITIES, type Severity } from '@engex/workspace-config';
import { UsageError } from './errors.js';
import type { Finding, TrivyReport } from './trivy-report.js';

export interface IgnoreEntry {
  id: string;
  /** `exp:YYYY-MM-DD`: the entry stops applying at the start of that day (UTC), as in Trivy. */
  expires?: string;
  line: number;
}

/**
 * Parses a `.trivyignore` the way Trivy does: one id per line (first field), `#` comments,
 * optional `exp:YYYY-MM-DD` among the other fields. A malformed date is an error rather than an
 * entry that silently never (or always) expires.
 */
export function parseTrivyIgnore(text: string, file = '.trivyignore'): IgnoreEntry[] {
  const entries: IgnoreEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [id, ...rest] = line.split(/\s+/) as [string, ...string[]];
    const exp = rest.find((f) => f.startsWith('exp:'));
    const entry: IgnoreEntry = { id, line: i + 1 };
    if (exp !== undefined) {
      const date = exp.slice(4);
      if (!isCalendarDate(date)) throw new UsageError(`${file}:${i + 1}: ${JSON.stringify(exp)} is not exp:YYYY-MM-DD`);
      entry.expires = date;
    }
    entries.push(entry);
  });
  return entries;
}

function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

/** `YYYY-MM-DD` of a moment, in UTC. */
export function utcDate(now: Date): string {
  return now.toISOString().slice(0, 10);
}

export interface ScanPolicy {
  /** Severities that fail the gate. Default from config: HIGH, CRITICAL. */
  failOn: readonly Severity[];
  /** Findings without a fixed version never fail the gate. Default from config: true. */
  ignoreUnfixed: boolean;
  ignores: readonly IgnoreEntry[];
  /** Today's date, `YYYY-MM-DD` (UTC), for `exp:` expiry. */
  today: string;
}

export interface ScanEvaluation {
  artifactName: string;
  artifactType: string;
  policy: ScanPolicy;
  /** Every finding in the report, by severity. */
  counts: Record<Severity, number>;
  /** The findings that fail the gate, most severe first. */
  failing: Finding[];
  /** Findings at a failing severity that an active `.trivyignore` entry waived. */
  waived: Finding[];
  /** Findings at a failing severity with no fix yet (only counted when ignoreUnfixed). */
  unfixed: Finding[];
  /** Entries whose date has passed: they no longer waive anything. */
  expiredIgnores: IgnoreEntry[];
  passed: boolean;
}

const RANK: Record<Severity, number> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3, UNKNOWN: 4 };

/** Pure: applies the policy to a parsed report. */
export function evaluateScan(report: TrivyReport, policy: ScanPolicy): ScanEvaluation {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const active = new Set(policy.ignores.filter((e) => e.expires === undefined || policy.today < e.expires).map((e) => e.id));
  const failing: Finding[] = [];
  const waived: Finding[] = [];
  const unfixed: Finding[] = [];
  for (const finding of report.findings) {
    counts[finding.severity]++;
    if (!policy.failOn.includes(finding.severity)) continue;
    if (active.has(finding.id)) waived.push(finding);
    else if (policy.ignoreUnfixed && finding.fixedVersion === '') unfixed.push(finding);
    else failing.push(finding);
  }
  failing.sort((a, b) => RANK[a.severity] - RANK[b.severity] || a.id.localeCompare(b.id) || a.pkgName.localeCompare(b.pkgName));
  return {
    artifactName: report.artifactName,
    artifactType: report.artifactType,
    policy,
    counts,
    failing,
    waived,
    unfixed,
    expiredIgnores: policy.ignores.filter((e) => e.expires !== undefined && policy.today >= e.expires),
    passed: failing.length === 0,
  };
}

/** Parses `--fail-on HIGH,CRITICAL`. */
export function parseSeverityList(value: string, flag = '--fail-on'): Severity[] {
  const parts = value
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const bad = parts.filter((p) => !(SEVERITIES as readonly string[]).includes(p));
  if (parts.length === 0 || bad.length > 0) {
    throw new UsageError(`${flag}: expected a comma-separated list of ${SEVERITIES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return [...new Set(parts)] as Severity[];
}
