import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PolicyFailedError, ScanReportError, UsageError } from '../../../lib/errors.js';
import { renderScanMarkdown, renderScanSummary } from '../../../lib/render-scan-markdown.js';
import { mergeScanReports } from '../../../lib/scan-merge.js';
import { evaluateScan, parseSeverityList, parseTrivyIgnore, utcDate } from '../../../lib/scan-policy.js';
import { parseTrivyReportText, type TrivyReport } from '../../../lib/trivy-report.js';
import type { CommandContext } from '../../context.js';
import { defineCommand } from '../../define-command.js';
import { SCAN_REPORT } from './command.js';

export const scanReport = defineCommand(SCAN_REPORT, async (args, ctx) => {
  const root = ctx.root();
  const { trivy } = await ctx.config();
  const failOn = args.failOn !== undefined ? parseSeverityList(args.failOn) : trivy.failOn;
  const imageReport = await readTrivyReport(ctx, args.args[0]);
  const report = args.sbomReport === undefined ? imageReport : mergeScanReports(imageReport, await readTrivyReport(ctx, args.sbomReport));
  const ignores = await readIgnores(args.trivyignore === undefined ? join(root, '.trivyignore') : ctx.path(args.trivyignore), args.trivyignore);
  const evaluation = evaluateScan(report, { failOn, ignoreUnfixed: args.ignoreUnfixed ?? trivy.ignoreUnfixed, ignores, today: utcDate(ctx.now()) });
  const markdown = renderScanMarkdown(evaluation, { trivyVersion: report.scannerVersion ?? `${trivy.version} (pinned)` });
  if (args.annotation !== undefined) {
    await writeFile(ctx.path(args.annotation), markdown);
    ctx.note(`annotation written to ${args.annotation}`);
  } else ctx.io.stdout(markdown);
  const summary = renderScanSummary(evaluation);
  if (!evaluation.passed) throw new PolicyFailedError(summary);
  ctx.note(summary);
  return 0;
});

async function readTrivyReport(ctx: CommandContext, arg: string): Promise<TrivyReport> {
  let text: string;
  try {
    text = await readFile(ctx.path(arg), 'utf8');
  } catch (error) {
    throw new ScanReportError(arg, [`cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  return parseTrivyReportText(text, arg);
}

/** `--trivyignore <file>` (must be readable), else the workspace's `.trivyignore` when there is one. */
async function readIgnores(file: string, given: string | undefined): Promise<ReturnType<typeof parseTrivyIgnore>> {
  if (given === undefined && !existsSync(file)) return [];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--trivyignore ${given}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseTrivyIgnore(text, given ?? '.trivyignore');
}
