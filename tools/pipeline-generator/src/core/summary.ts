import type { AffectedAnalysis, AffectedProject } from './affected.js';
import type { BaseSummary, BuildContext, ServicePlan, ZoneSummary } from './context.js';

export type { ServicePlan } from './context.js';

export interface AnnotationInput {
  base: BaseSummary;
  context: BuildContext;
  trust: ZoneSummary;
  analysis: AffectedAnalysis;
  services: readonly ServicePlan[];
  jobs: number;
}

/** Projects listed in the stderr summary without --explain. */
const SUMMARY_PROJECTS = 25;

/** Buildkite annotations are limited to 1 MiB; a table this long is unreadable anyway. */
const MAX_ROWS = 200;

/** Markdown for the plan step's annotation: the base and why, what runs and why, what not. */
export function planAnnotation(input: AnnotationInput): string {
  const { base, analysis } = input;
  const lines: string[] = ['### engex pipeline plan', ''];
  lines.push(`**Base:** ${base.base ? code(base.base.slice(0, 12)) : 'none, so everything runs'} (${base.rule}): ${inline(base.reason)}`);
  for (const note of base.notes) lines.push(`- ${inline(note)}`);
  lines.push('', `**Zone:** ${input.trust.zone}: ${inline(input.trust.reason)}; ${inline(input.trust.effect)}.`);
  lines.push('');
  const imageOnly = input.services.filter((s) => s.why !== undefined && !analysis.affected.some((a) => a.name === s.project));
  if (analysis.affected.length === 0 && imageOnly.length === 0) {
    lines.push(`**Nothing affected.** ${analysis.changedFiles.length} changed file(s) reach no project of ${analysis.projectCount}.`);
    for (const f of analysis.changedFiles.slice(0, 20)) lines.push(`- ${code(f)}`);
    return lines.join('\n');
  }
  lines.push(`**Affected:** ${analysis.affected.length} of ${analysis.projectCount} projects, ${input.jobs} jobs.`, '');
  lines.push('| Project | Why |', '| --- | --- |');
  for (const s of imageOnly) lines.push(`| ${cell(s.project)} | ${cell(`image only: ${s.why as string}`)} |`);
  for (const p of analysis.affected.slice(0, MAX_ROWS)) {
    const why = input.services.find((s) => s.project === p.name)?.why;
    lines.push(`| ${cell(p.name)} | ${cell(projectWhy(p, analysis))}${why ? `; ${cell(why)}` : ''} |`);
  }
  if (analysis.affected.length > MAX_ROWS) lines.push(`| … | ${analysis.affected.length - MAX_ROWS} more |`);
  const skipped = [
    ...analysis.skipped.map((s) => `${code(`${s.project}:${s.target}`)}: ${inline(s.why)}`),
    ...input.services.filter((s) => s.skipped).map((s) => `${code(s.project)} ${inline(s.skipped as string)}`),
  ];
  if (skipped.length > 0) {
    lines.push('', '**Skipped:**');
    for (const s of skipped.slice(0, MAX_ROWS)) lines.push(`- ${s}`);
    if (skipped.length > MAX_ROWS) lines.push(`- … ${skipped.length - MAX_ROWS} more`);
  }
  const unaffected = analysis.projectCount - analysis.affected.length;
  if (unaffected > 0) lines.push('', `${unaffected} unaffected project(s) do not run.`);
  const unverified = unverifiedDeploys(input.services);
  if (unverified.length > 0) {
    lines.push('', `**Unverified:** nothing checks that these deploys run (no ${code('url')} or ${code('argocd')} in the deploy target):`);
    for (const u of unverified) lines.push(`- ${code(u.project)} → ${code(u.overlay)}: unverified`);
  }
  return lines.join('\n');
}

export function projectWhy(p: AffectedProject, analysis: Pick<AffectedAnalysis, 'all' | 'allReason'>): string {
  if (analysis.all) return analysis.allReason ?? 'every project runs';
  const parts: string[] = [];
  if (p.files.length > 0) parts.push(`changed: ${sample(p.files)}`);
  if (p.touchedBy.length > 0) parts.push(p.touchedBy.join('; '));
  if (p.via) parts.push(`depends on ${p.via.slice(1).join(' → ')}`);
  return parts.join('; ') || 'touched by Nx';
}

export interface SummaryInput extends AnnotationInput {
  uploads: number;
  explain: boolean;
}

/** The human summary for stderr; `explain` adds each project's files and dependency path. */
export function renderSummary(input: SummaryInput): string {
  const { base, analysis } = input;
  const out: string[] = [];
  out.push(`engex-pipeline: base ${base.base ? base.base.slice(0, 12) : '(none: everything runs)'} [${base.rule}] ${base.reason}`);
  for (const n of base.notes) out.push(`  note: ${n}`);
  out.push(`zone: ${input.trust.zone}: ${input.trust.reason}; ${input.trust.effect}.`);
  const imageOnly = input.services.filter((s) => s.why !== undefined && !analysis.affected.some((a) => a.name === s.project));
  if (analysis.affected.length === 0 && imageOnly.length === 0) {
    out.push(`Nothing affected: ${analysis.changedFiles.length} changed file(s), ${analysis.projectCount} projects, one step that says so.`);
    return `${out.join('\n')}\n`;
  }
  out.push(`${analysis.affected.length} of ${analysis.projectCount} projects affected; ${analysis.tasks.length} Nx tasks; ` + `${input.jobs} jobs in ${input.uploads} upload(s).`);
  for (const s of imageOnly) {
    out.push(`  ${s.project}: ${s.steps.map((k) => k.slice(k.lastIndexOf(':') + 1)).join(', ')} (${s.why as string})`);
    if (input.explain && s.skipped) out.push(`    skipped ${s.skipped}`);
  }
  // Without --explain, a 1,000-project run should not bury the headline.
  const listed = input.explain ? analysis.affected : analysis.affected.slice(0, SUMMARY_PROJECTS);
  for (const p of listed) {
    const targets = analysis.tasks.filter((t) => t.project === p.name).map((t) => t.target);
    const service = input.services.find((s) => s.project === p.name);
    const ci = service?.steps.map((k) => k.slice(k.lastIndexOf(':') + 1)) ?? [];
    out.push(`  ${p.name}: ${[...targets, ...ci].join(', ') || '(nothing to run)'}`);
    if (input.explain) {
      if (analysis.all) out.push(`    why: ${analysis.allReason ?? 'every project runs'}`);
      for (const f of p.files) out.push(`    changed: ${f}`);
      for (const t of p.touchedBy) out.push(`    touched: ${t}`);
      if (p.via) out.push(`    via: ${p.via.join(' -> ')}`);
      for (const t of analysis.tasks.filter((x) => x.project === p.name)) out.push(`    ${t.target}: ${t.why}`);
      for (const s of analysis.skipped.filter((x) => x.project === p.name)) out.push(`    skipped ${s.target}: ${s.why}`);
      if (service?.why) out.push(`    image: ${service.why}`);
      if (service?.skipped) out.push(`    skipped ${service.skipped}`);
    }
  }
  if (listed.length < analysis.affected.length) {
    out.push(`  … and ${analysis.affected.length - listed.length} more (--explain lists every project).`);
  }
  if (!input.explain) {
    const skipped = analysis.skipped.length + input.services.filter((s) => s.skipped).length;
    if (skipped > 0) out.push(`${skipped} task(s)/step(s) skipped; --explain says which and why.`);
  }
  for (const u of unverifiedDeploys(input.services)) out.push(`  unverified: ${u.project} → ${u.overlay} (its deploy target has no url or argocd, so nothing checks that it runs)`);
  return `${out.join('\n')}\n`;
}

/** Deploys of this plan that no verify step checks. */
function unverifiedDeploys(services: readonly ServicePlan[]): Array<{ project: string; overlay: string }> {
  return services.flatMap((s) => (s.unverified ?? []).map((overlay) => ({ project: s.project, overlay })));
}

function sample(items: readonly string[]): string {
  return items.length <= 3 ? items.join(', ') : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}

/** Inline code that survives any content (backticks, pipes, newlines). */
function code(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  const fence = flat.includes('`') ? '``' : '`';
  return `${fence}${flat.includes('`') ? ` ${flat} ` : flat}${fence}`.replaceAll('|', '\\|');
}

function inline(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function cell(text: string): string {
  return inline(text).replaceAll('|', '\\|');
}
