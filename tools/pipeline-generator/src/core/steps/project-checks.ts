import type { AffectedTask } from '../affected.js';
import type { CommandStep } from '../pipeline.js';
import { checkPlugins, junitReports, type ChecksInput } from './check.js';

/**
 * Affected tasks of one project in one job (`stepGranularity` `checks` or `project`): one install
 * instead of one per task. One `nx run-many` runs the targets: JUnit reports are Nx outputs of the
 * test targets (nx.json), so no target needs flags of its own and a cache hit still leaves them.
 * The command defers its failure, so the job fails at the end after Nx ran every target it could.
 */
export function projectChecksStep(input: ChecksInput & { tasks: readonly AffectedTask[]; ownTasks: ReadonlySet<string> }): CommandStep {
  const { tasks, project, key, jobOf, options, common } = input;
  const dependsOn = new Set<string>();
  for (const t of tasks)
    for (const d of t.dependsOn) {
      // A task of this project in another job (`checks`: a service's build) is not waited for:
      // run-many runs it here first, as a dependency (a cache hit once its own job shared it).
      // Waiting would chain two jobs, two restores, before the first test result.
      const job = input.ownTasks.has(d) ? undefined : jobOf.get(d);
      if (job !== undefined && job !== key) dependsOn.add(job);
    }
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
