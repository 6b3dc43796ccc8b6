import type { AffectedTask, WorkspaceProject } from '../affected.js';
import type { CommandStep, PluginUse } from '../pipeline.js';
import { nxRun, type Common, type PlanOptions } from './common.js';

/**
 * The JUnit reports a target declares in its Nx `outputs` (vitest writes `reports/junit.xml` in
 * every project; nx.json lists it), checkout-relative. Being outputs, they exist after a run and
 * after a cache hit, local or remote, so every test step has its report.
 */
export function junitReports(project: WorkspaceProject, target: string): string[] {
  return (project.targets[target]?.outputs ?? [])
    .map((o) => o.replaceAll('{projectRoot}', project.root).replace(/^\{workspaceRoot\}\//, ''))
    .filter((o) => /(^|\/)[^/]*junit[^/]*\.xml$/.test(o) && !o.includes('{'));
}

/**
 * Test Engine gets each report through the pinned test-collector plugin (a pre-exit hook, so it
 * also runs when tests fail); its token is the agent's `BUILDKITE_ANALYTICS_TOKEN`, never YAML.
 * `annotation-link` makes it add one info annotation (context `test-collector`) with a link per
 * uploaded report to its Test Engine run; failures are on that page and in the step's log, not
 * in the annotation (hooks/pre-exit of the pinned plugin).
 */
function testCollector(ref: string, reports: readonly string[]): PluginUse {
  return { ref, config: { files: reports.length === 1 ? reports[0] : [...reports], format: 'junit', 'annotation-link': true } };
}

/** A check job's plugins: the shared ones, plus the Test Engine upload when it has reports and the workspace sends them. */
export function checkPlugins(common: Common, testCollectorRef: string | undefined, reports: readonly string[]): readonly PluginUse[] {
  return reports.length > 0 && testCollectorRef !== undefined ? [...common.plugins, testCollector(testCollectorRef, reports)] : common.plugins;
}

/** What a check job (one task, or one project's tasks) is built from. */
export interface ChecksInput {
  project: WorkspaceProject;
  /** This job's key. */
  key: string;
  /**
   * Task id → the key of the job this job waits for when it needs that task: the job that runs
   * it (`target`, `project`), or none (`checks`: Nx runs the dependency in this job).
   */
  waitFor: ReadonlyMap<string, string>;
  options: PlanOptions;
  common: Common;
  /** The pinned Test Engine plugin, or undefined when the workspace does not send results. */
  testCollectorRef: string | undefined;
}

/** One affected Nx task (lint, typecheck, test, build, …) as a step. */
export function checkStep(input: ChecksInput & { task: AffectedTask }): CommandStep {
  const { task, project, key, waitFor, options, common } = input;
  const reports = junitReports(project, task.target);
  return {
    type: 'command',
    key,
    label: `${task.target} ${project.name}`,
    commands: [...options.setup, nxRun(options, project.name, task.target)],
    dependsOn: task.dependsOn.flatMap((d) => waitFor.get(d) ?? []),
    timeoutInMinutes: options.timeouts.task,
    ...common,
    plugins: checkPlugins(common, input.testCollectorRef, reports),
    artifactPaths: reports,
    meta: { kind: 'nx-task', project: project.name, target: task.target, taskId: task.id },
  };
}
