import { describeSources } from './scan-merge.js';
import { SEVERITIES, type Severity } from '@engex/workspace-config';
import type { ScanEvaluation } from './scan-policy.js';

/** Buildkite refuses annotations over 1 MiB; the whole body stays under it, counted in UTF-8 bytes. */
export const MAX_ANNOTATION_BYTES = 1024 * 1024;
/** A report field longer than this is shortened in its table cell (the JSON report keeps it whole). */
const MAX_CELL_CHARS = 300;
/** Room kept for the closing notes when rows are cut for size. */
const FOOTER_BYTES = 1024;

export interface RenderScanOptions {
  /** Rows of the failing-findings table before it is cut. Default 50. */
  maxRows?: number;
  /** Upper bound of the whole Markdown in UTF-8 bytes; rows are dropped (and counted) to fit. Default MAX_ANNOTATION_BYTES. */
  maxBytes?: number;
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

/** Shortens by code points (never splitting a character or an escape) and marks the cut. */
function clip(text: string, max = MAX_CELL_CHARS): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Escaped, and shortened to a table cell's worth. */
const cell = (text: string): string => escapeMarkdown(clip(text));

/** Only plain http(s) URLs become links; parentheses and spaces are percent-encoded. */
function link(text: string, url: string | undefined): string {
  const label = cell(text);
  if (!url || url.length > 2048 || !/^https?:\/\/[^\s<>"]+$/.test(url)) return label;
  return `[${label}](${url.replace(/\(/g, '%28').replace(/\)/g, '%29')})`;
}

const ICON: Record<Severity, string> = {
  CRITICAL: ':red_circle:',
  HIGH: ':large_orange_diamond:',
  MEDIUM: ':large_yellow_circle:',
  LOW: ':white_circle:',
  UNKNOWN: ':grey_question:',
};
const ORDER: readonly Severity[] = [...SEVERITIES].reverse();

/** Pure: the Markdown body for `buildkite-agent annotate` (style error/success by `passed`). */
export function renderScanMarkdown(evaluation: ScanEvaluation, options: RenderScanOptions = {}): string {
  const maxRows = options.maxRows ?? 50;
  const maxBytes = options.maxBytes ?? MAX_ANNOTATION_BYTES;
  const { failing, policy } = evaluation;
  const subject = options.subject ? ` ${cell(options.subject)}` : '';
  const lines: string[] = [];
  lines.push(
    evaluation.passed ? `### :white_check_mark: Trivy${subject}: passed` : `### :x: Trivy${subject}: ${failing.length} finding${failing.length === 1 ? '' : 's'} fail the policy`,
  );
  lines.push('');
  lines.push(
    [
      `**Artifact:** ${cell(evaluation.artifactName)} (${cell(evaluation.artifactType)})`,
      `**Fails on:** ${policy.failOn.join(', ')}`,
      `**Unfixed:** ${policy.ignoreUnfixed ? 'ignored' : 'counted'}`,
      ...(options.trivyVersion ? [`**Trivy:** ${cell(options.trivyVersion)}`] : []),
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
  // Everything above (verdict, counts, notes) is always shown; rows and warnings fill what is left.
  let used = Buffer.byteLength(lines.join('\n')) + 1;
  const fits = (text: string): boolean => used + Buffer.byteLength(text) + 1 + FOOTER_BYTES <= maxBytes;
  const add = (text: string): void => {
    lines.push(text);
    used += Buffer.byteLength(text) + 1;
  };
  let expiredShown = 0;
  for (const entry of evaluation.expiredIgnores) {
    const text = `:warning: .trivyignore line ${entry.line}: ${cell(entry.id)} expired on ${entry.expires} and no longer waives anything.`;
    if (!fits(`\n${text}`)) break;
    add('');
    add(text);
    expiredShown++;
  }
  if (expiredShown < evaluation.expiredIgnores.length) add(`\n:warning: ${evaluation.expiredIgnores.length - expiredShown} more expired .trivyignore entries not shown.`);
  let shown = 0;
  let cutForSize = false;
  if (failing.length > 0) {
    add('');
    // A merged image + SBOM scan says where each finding came from; a single scan needs no column.
    const merged = failing.some((f) => f.foundIn !== undefined);
    add(`| ID | Package | Installed | Fixed | Severity |${merged ? ' Found in |' : ''} Title |`);
    add(`| --- | --- | --- | --- | --- |${merged ? ' --- |' : ''} --- |`);
    for (const f of failing.slice(0, maxRows)) {
      const from = merged ? ` ${describeSources(f.foundIn ?? [])} |` : '';
      const row = `| ${link(f.id, f.primaryUrl)} | ${cell(f.pkgName)} | ${cell(f.installedVersion)} | ${cell(f.fixedVersion) || '(none)'} | ${f.severity} |${from} ${cell(f.title)} |`;
      if (!fits(row)) {
        cutForSize = true;
        break;
      }
      add(row);
      shown++;
    }
    if (failing.length > shown) {
      add('');
      add(
        cutForSize
          ? `…and ${failing.length - shown} more failing findings not shown: the annotation is kept under ${Math.floor(maxBytes / 1024)} KiB (Buildkite's limit); the full list is in the JSON report artifact.`
          : `…and ${failing.length - shown} more failing findings; the full list is in the JSON report artifact.`,
      );
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
