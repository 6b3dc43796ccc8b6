import { SEVERITIES, type Severity } from '@engex/workspace-config';
import type { ScanEvaluation } from './scan-policy.js';

export interface RenderScanOptions {
  /** Rows of the failing-findings table before it is cut. Default 50. */
  maxRows?: number;
  /** Shown in the heading, e.g. the service name. */
  subject?: string;
  /** Trivy version that produced the report, when known (config.trivy.version). */
  trivyVersion?: string;
}

/**
 * Text from a report is untrusted (package names, titles): in a Buildkite annotation it must not
 * open HTML, break the table, or become a link. Escapes HTML, Markdown punctuation and pipes,
 * and flattens newlines.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]{}()#+!|~])/g, '\\$1');
}

/** Only plain http(s) URLs become links; parentheses and spaces are percent-encoded. */
function link(text: string, url: string | undefined): string {
  const label = escapeMarkdown(text);
  if (!url || !/^https?:\/\/[^\s<>"]+$/.test(url)) return label;
  return `[${label}](${url.replace(/\(/g, '%28').replace(/\)/g, '%29')})`;
}

const ICON: Record<Severity, string> = { CRITICAL: ':red_circle:', HIGH: ':large_orange_diamond:', MEDIUM: ':large_yellow_circle:', LOW: ':white_circle:', UNKNOWN: ':grey_question:' };
const ORDER: readonly Severity[] = [...SEVERITIES].reverse();

/** Pure: the Markdown body for `buildkite-agent annotate` (style error/success by `passed`). */
export function renderScanMarkdown(evaluation: ScanEvaluation, options: RenderScanOptions = {}): string {
  const maxRows = options.maxRows ?? 50;
  const { failing, policy } = evaluation;
  const subject = options.subject ? ` ${escapeMarkdown(options.subject)}` : '';
  const lines: string[] = [];
  lines.push(
    evaluation.passed
      ? `### :white_check_mark: Trivy${subject}: passed`
      : `### :x: Trivy${subject}: ${failing.length} finding${failing.length === 1 ? '' : 's'} fail the policy`,
  );
  lines.push('');
  lines.push(
    [
      `**Artifact:** ${escapeMarkdown(evaluation.artifactName)} (${escapeMarkdown(evaluation.artifactType)})`,
      `**Fails on:** ${policy.failOn.join(', ')}`,
      `**Unfixed:** ${policy.ignoreUnfixed ? 'ignored' : 'counted'}`,
      ...(options.trivyVersion ? [`**Trivy:** ${escapeMarkdown(options.trivyVersion)}`] : []),
    ].join(' · '),
  );
  lines.push('');
  lines.push('| Severity | Found | Failing |', '| --- | ---: | ---: |');
  for (const severity of ORDER) {
    const failingCount = failing.filter((f) => f.severity === severity).length;
    lines.push(`| ${ICON[severity]} ${severity} | ${evaluation.counts[severity]} | ${failingCount} |`);
  }
  const notes: string[] = [];
  if (evaluation.waived.length > 0) notes.push(`${evaluation.waived.length} waived by .trivyignore`);
  if (evaluation.unfixed.length > 0) notes.push(`${evaluation.unfixed.length} without a fix ignored`);
  if (notes.length > 0) lines.push('', `Not counted: ${notes.join(', ')}.`);
  for (const entry of evaluation.expiredIgnores) {
    lines.push('', `:warning: .trivyignore line ${entry.line}: ${escapeMarkdown(entry.id)} expired on ${entry.expires} and no longer waives anything.`);
  }
  if (failing.length > 0) {
    lines.push('', '| ID | Package | Installed | Fixed | Severity | Title |', '| --- | --- | --- | --- | --- | --- |');
    for (const f of failing.slice(0, maxRows)) {
      lines.push(
        `| ${link(f.id, f.primaryUrl)} | ${escapeMarkdown(f.pkgName)} | ${escapeMarkdown(f.installedVersion)} | ${escapeMarkdown(f.fixedVersion) || '(none)'} | ${f.severity} | ${escapeMarkdown(f.title)} |`,
      );
    }
    if (failing.length > maxRows) {
      lines.push('', `…and ${failing.length - maxRows} more failing findings; the full list is in the JSON report artifact.`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One line for the log, e.g. `scan: FAILED 2 findings at HIGH,CRITICAL (2 CRITICAL, 0 HIGH)`. */
export function renderScanSummary(evaluation: ScanEvaluation): string {
  const bySeverity = evaluation.policy.failOn
    .slice()
    .sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))
    .map((s) => `${evaluation.failing.filter((f) => f.severity === s).length} ${s}`)
    .join(', ');
  return evaluation.passed
    ? `scan: passed ${evaluation.artifactName} (no unwaived findings at ${evaluation.policy.failOn.join(',')})`
    : `scan: FAILED ${evaluation.artifactName}: ${evaluation.failing.length} finding${evaluation.failing.length === 1 ? '' : 's'} at ${evaluation.policy.failOn.join(',')} (${bySeverity})`;
}
