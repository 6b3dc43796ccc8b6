import { findCycle } from './graph.js';
import { PipelineInvalidError, type PipelineIssue } from './errors.js';
import { isValidKey } from './keys.js';
import { invocation } from './shell.js';
import { allSteps, type BlockStep, type CommandStep, type Pipeline } from './pipeline.js';
import { MAX_JOBS_PER_UPLOAD, jobCount } from './split.js';

/**
 * Checks the uploads, in upload order, before anything is printed: valid and unique keys,
 * `depends_on` naming a step of the same or an earlier upload, no dependency cycle, no upload
 * over Buildkite's job limit, and no empty upload. Returns every problem found.
 */
export function validatePipeline(uploads: readonly Pipeline[], maxJobs = MAX_JOBS_PER_UPLOAD): PipelineIssue[] {
  const issues: PipelineIssue[] = [];
  if (uploads.length === 0) issues.push({ path: '', message: 'no upload at all; even "nothing affected" has one step' });
  const seen = new Set<string>();
  const all = new Map<string, CommandStep | BlockStep>();

  uploads.forEach((upload, u) => {
    const at = uploads.length > 1 ? `uploads[${u}].` : '';
    const jobs = jobCount(upload);
    if (upload.steps.length === 0 || jobs === 0) issues.push({ path: `${at}steps`, message: 'an upload must contain at least one step' });
    if (jobs > maxJobs) issues.push({ path: `${at}steps`, message: `${jobs} jobs exceed Buildkite's ${maxJobs} per upload; split the pipeline` });
    const key = (k: string, path: string): void => {
      if (!isValidKey(k)) issues.push({ path, message: `key ${JSON.stringify(k)} breaks Buildkite's key rules` });
      if (seen.has(k)) issues.push({ path, message: `duplicate key ${JSON.stringify(k)}` });
      seen.add(k);
    };
    const own = new Set(allSteps(upload).map((s) => s.key));
    const check = (step: CommandStep | BlockStep, path: string): void => {
      key(step.key, `${path}.key`);
      if (step.label.trim() === '') issues.push({ path: `${path}.label`, message: 'is empty' });
      if (step.type === 'block') {
        if (step.prompt.trim() === '') issues.push({ path: `${path}.prompt`, message: 'is empty' });
        dependencies(step, path);
        return;
      }
      if (step.commands.length === 0) issues.push({ path: `${path}.commands`, message: 'is empty' });
      step.commands.forEach((c, i) => {
        const { argv } = invocation(c);
        if (argv.length === 0 || argv[0] === '') issues.push({ path: `${path}.commands[${i}]`, message: 'has no program' });
        if (argv.some((a) => a.includes('\u0000'))) issues.push({ path: `${path}.commands[${i}]`, message: 'contains a NUL byte' });
      });
      if (!(step.timeoutInMinutes > 0)) issues.push({ path: `${path}.timeout_in_minutes`, message: 'must be positive' });
      if (step.concurrency && (step.concurrency.limit < 1 || step.concurrency.group === '')) {
        issues.push({ path: `${path}.concurrency`, message: 'needs a group and a limit of at least 1' });
      }
      dependencies(step, path);
    };
    const dependencies = (step: CommandStep | BlockStep, path: string): void => {
      step.dependsOn.forEach((d, i) => {
        if (d === step.key) issues.push({ path: `${path}.depends_on[${i}]`, message: 'a step cannot depend on itself' });
        else if (!own.has(d) && !all.has(d)) {
          issues.push({ path: `${path}.depends_on[${i}]`, message: `${JSON.stringify(d)} is not a step of this or an earlier upload` });
        }
      });
    };
    upload.steps.forEach((step, i) => {
      const path = `${at}steps[${i}]`;
      if (step.type === 'group') {
        key(step.key, `${path}.key`);
        if (step.steps.length === 0) issues.push({ path: `${path}.steps`, message: 'a group needs at least one step' });
        step.steps.forEach((s, j) => check(s, `${path}.steps[${j}]`));
      } else {
        check(step, path);
      }
    });
    for (const s of allSteps(upload)) all.set(s.key, s);
  });

  const cycle = findCycle(all.keys(), (key) => (all.get(key)?.dependsOn ?? []).filter((d) => d !== key && all.has(d)));
  if (cycle) issues.push({ path: 'depends_on', message: `dependency cycle: ${cycle.join(' -> ')}` });
  return issues;
}

export function assertValidPipeline(uploads: readonly Pipeline[], maxJobs = MAX_JOBS_PER_UPLOAD): void {
  const issues = validatePipeline(uploads, maxJobs);
  if (issues.length > 0) throw new PipelineInvalidError(issues);
}
