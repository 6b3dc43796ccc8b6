import type { AffectedTask, WorkspaceProject } from '../affected.js';
import type { CommandStep } from '../pipeline.js';
import { nxRun, type Common, type PlanOptions } from './common.js';

/** vitest under `nx:run-commands` takes reporter flags after `--`; others report their own way. */
export function junitFor(project: WorkspaceProject, target: string, slug: string): { args: string[]; file: string } | undefined {
  const t = project.targets[target];
  if (!t || t.executor !== 'nx:run-commands' || !/^(npx\s+)?vitest(\s|$)/.test(t.command ?? '')) return undefined;
  const file = `reports/junit/${slug}.xml`;
  const cwd = t.cwd ?? '.';
  const depth = cwd === '.' || cwd === '' ? 0 : cwd.split('/').filter(Boolean).length;
  const fromCwd = `${'../'.repeat(depth)}${file}`;
  return { args: ['--reporter=default', '--reporter=junit', `--outputFile.junit=${fromCwd}`], file };
}

/** One affected Nx task (lint, typecheck, test, build, …) as a step. */
export function checkStep(task: AffectedTask, project: WorkspaceProject, keys: ReadonlyMap<string, string>, options: PlanOptions, common: Common): CommandStep {
  const key = keys.get(task.id) as string;
  const junit = junitFor(project, task.target, key.replace(/:/g, '-'));
  return {
    type: 'command',
    key,
    label: `${task.target} ${project.name}`,
    commands: [...options.setup, nxRun(options, project.name, task.target, junit?.args)],
    dependsOn: task.dependsOn.map((d) => keys.get(d)).filter((k): k is string => k !== undefined),
    timeoutInMinutes: options.timeouts.task,
    ...common,
    artifactPaths: junit ? [junit.file] : [],
    meta: { kind: 'nx-task', project: project.name, target: task.target, taskId: task.id },
  };
}
