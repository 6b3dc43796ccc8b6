import type { AffectedTask } from '../affected.js';
import type { CommandStep } from '../pipeline.js';
import { checkPlugins, junitReports, type ChecksInput } from './check.js';

/**
 * Affected tasks of one project in one job (`stepGranularity` `checks` or `project`): one install
 * instead of one per task. One `nx run-many` runs the targets: JUnit reports are Nx outputs of the
 * test targets (nx.json), so no target needs flags of its own and a cache hit still leaves them.
 * The command defers its failure, so the job fails at the end after Nx ran every target it could.
 */
export function projectChecksStep(input: ChecksInput & { tasks: readonly AffectedTask[] }): CommandStep {
  const { tasks, project, key, waitFor, options, common } = input;
  // Under `checks` this waits for nothing (`waitFor` is empty: run-many runs the dependency tasks here).
  const dependsOn = new Set(tasks.flatMap((t) => t.dependsOn.flatMap((d) => waitFor.get(d) ?? [])).filter((job) => job !== key));
  const reports = tasks.flatMap((t) => junitReports(project, t.target));
  return {
    type: 'command',
    key,
    label: `${tasks.map((t) => t.target).join(', ')} ${project.name}`,
    commands: [...options.setup, { kind: 'nx-run-many', nx: options.nx, project: project.name, targets: tasks.map((t) => t.target), deferFailure: true }],
    dependsOn: [...dependsOn],
    // The tasks share the job: its budget is the sum of theirs.
    timeoutInMinutes: options.timeouts.task * tasks.length,
    ...common,
    plugins: checkPlugins(common, input.testCollectorRef, reports),
    artifactPaths: reports,
    meta: { kind: 'nx-project', project: project.name, targets: tasks.map((t) => t.target), taskIds: tasks.map((t) => t.id) },
  };
}
