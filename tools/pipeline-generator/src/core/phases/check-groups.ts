import type { WorkspaceConfig } from '@engex/workspace-config';
import type { PlanPipelineInput } from '../context.js';
import type { GroupStep } from '../pipeline.js';
import { checkStep } from '../steps/check.js';
import { projectChecksStep } from '../steps/project-checks.js';
import type { Common } from '../steps/common.js';
import { projectJobKey, type JobKeys } from './job-keys.js';

/**
 * Phase 2: one group per affected project (in the analysis' order) with its check jobs: one per
 * task, or one shared job (`stepGranularity` `checks` or `project`) and one per task kept apart
 * (`checks`: a service's build). A group may be empty here: a service without affected tasks
 * still gets its image steps in the next phase.
 */
export function checkGroups(
  input: Pick<PlanPipelineInput, 'projects' | 'analysis' | 'options'> & { config: Pick<WorkspaceConfig, 'testEngine' | 'plugins' | 'stepGranularity'> },
  keys: JobKeys,
  common: Common,
): GroupStep[] {
  const byName = new Map(input.projects.map((p) => [p.name, p]));
  // Under `checks`, no checks job waits for another: its `nx run-many` runs the dependency tasks
  // it needs itself (a remote-cache hit when another job got there first). Waiting bought only
  // that cache hit and cost the whole upstream job, tests included: in bench:agents' `all` row,
  // four test suites in a row (workspace-config -> ci-lib -> pipeline-generator -> e2e, 1,196 s
  // against the single job's 678 s), since a typecheck needs its dependencies' typecheck too.
  const waitFor = input.config.stepGranularity === 'checks' ? new Map<string, string>() : keys.jobOf;
  // The Test Engine upload, only where the workspace turned it on (its plugin fails steps on agents without the token).
  const testCollectorRef = input.config.testEngine ? input.config.plugins.testCollector : undefined;
  return input.analysis.affected.flatMap((affected) => {
    const project = byName.get(affected.name);
    if (!project) return [];
    const slug = keys.slug(project.name);
    const tasks = keys.tasks.get(project.name) ?? [];
    const shared = { project, waitFor, options: input.options, common, testCollectorRef };
    const key = projectJobKey(slug);
    const together = keys.perProject.has(project.name) ? tasks.filter((t) => keys.jobOf.get(t.id) === key) : [];
    const steps = [
      ...(together.length > 0 ? [projectChecksStep({ ...shared, key, tasks: together })] : []),
      ...tasks.filter((t) => !together.includes(t)).map((task) => checkStep({ ...shared, key: keys.jobOf.get(task.id) ?? `${slug}:${task.target}`, task })),
    ];
    return [{ type: 'group' as const, key: slug, label: project.name, project: project.name, steps }];
  });
}
