import type { AffectedTask, WorkspaceProject } from '../affected.js';
import type { CommandStep, StepCommand } from '../pipeline.js';
import { junitFor } from './check.js';
import type { Common, PlanOptions } from './common.js';

export interface ProjectChecksInput {
  /** The project's affected tasks, in display order. */
  tasks: readonly AffectedTask[];
  project: WorkspaceProject;
  key: string;
  /** Task id → the key of the job that runs it (this one, or another project's). */
  jobOf: ReadonlyMap<string, string>;
  /** Task id → its key under `stepGranularity: "target"`: JUnit files keep those names in both modes. */
  taskKeys: ReadonlyMap<string, string>;
  options: PlanOptions;
  common: Common;
}

/**
 * Every affected task of one project in one job (`stepGranularity: "project"`): one install
 * instead of one per task. `nx run-many` runs the targets; a target that writes JUnit runs on its
 * own, since run-many would pass its reporter flags to every target. Each command defers its
 * failure, so a failing typecheck still leaves the test results, and the job fails at the end.
 */
export function projectChecksStep(input: ProjectChecksInput): CommandStep {
  const { tasks, project, key, jobOf, taskKeys, options, common } = input;
  const withJunit = tasks.map((t) => ({ task: t, junit: junitFor(project, t.target, (taskKeys.get(t.id) as string).replace(/:/g, '-')) }));
  const many = withJunit.filter((t) => t.junit === undefined).map((t) => t.task.target);
  const own: StepCommand[] = [];
  if (many.length > 0) own.push({ kind: 'nx-run-many', nx: options.nx, project: project.name, targets: many, deferFailure: true });
  for (const { task, junit } of withJunit) {
    if (junit) own.push({ kind: 'nx', nx: options.nx, project: project.name, target: task.target, args: junit.args, deferFailure: true });
  }
  const dependsOn = new Set<string>();
  for (const t of tasks) for (const d of t.dependsOn) {
    const job = jobOf.get(d);
    if (job !== undefined && job !== key) dependsOn.add(job);
  }
  return {
    type: 'command',
    key,
    label: `${tasks.map((t) => t.target).join(', ')} ${project.name}`,
    commands: [...options.setup, ...own],
    dependsOn: [...dependsOn],
    // The tasks share the job: its budget is the sum of theirs.
    timeoutInMinutes: options.timeouts.task * tasks.length,
    ...common,
    artifactPaths: withJunit.flatMap((t) => (t.junit ? [t.junit.file] : [])),
    meta: { kind: 'nx-project', project: project.name, targets: tasks.map((t) => t.target), taskIds: tasks.map((t) => t.id) },
  };
}
