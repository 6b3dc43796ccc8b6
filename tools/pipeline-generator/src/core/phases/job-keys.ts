import type { WorkspaceConfig } from '@engex/workspace-config';
import type { AffectedTask } from '../affected.js';
import type { PlanPipelineInput } from '../context.js';
import { stronglyConnected } from '../graph.js';
import { keyPart, projectSlugs } from '../keys.js';

export const PLAN_STEP_KEY = 'engex-plan';

/** The one step every `deployWhen: "build"` deploy waits for. */
export const CHECKS_GATE_KEY = 'engex-checks-passed';

/** Step-key parts the service steps use; an Nx target with such a name gets a suffix. */
const RESERVED_PART = /^(image|scan|smoke|deploy|(deploy|approve|verify)-.*)$/;

/** Which job runs which task, and every project's key prefix. */
export interface JobKeys {
  /** The key prefix of a workspace project (`@engex/halow` → `engex-halow`), unique and apart from the pipeline's own keys. */
  slug(project: string): string;
  /** Each project's affected tasks, in the order of `options.targets`. */
  tasks: ReadonlyMap<string, readonly AffectedTask[]>;
  /**
   * Projects whose tasks share one job (`stepGranularity` `checks`: every project, as no checks
   * job waits for another; `project`: those outside a job cycle); the others get one job per
   * task. Under `checks`, a service's `build` still has a job of its own.
   */
  perProject: ReadonlySet<string>;
  /** Task id → the key of the job that runs it. */
  jobOf: ReadonlyMap<string, string>;
}

/** The key of a project's shared job (`stepGranularity` `checks` or `project`). */
export function projectJobKey(slug: string): string {
  return `${slug}:tasks`;
}

/** Phase 1: the keys of every project and every check job, before any step exists. */
export function jobKeys(input: Pick<PlanPipelineInput, 'projects' | 'analysis' | 'options' | 'services'> & { config: Pick<WorkspaceConfig, 'stepGranularity'> }): JobKeys {
  const slugs = projectSlugs(
    input.projects.map((p) => p.name),
    [PLAN_STEP_KEY, CHECKS_GATE_KEY],
  );
  const slug = (project: string): string => slugs.get(project) ?? keyPart(project);
  const tasks = tasksByProject(input.analysis.tasks, input.options.targets);
  // One job per project; a task's dependency is the job that runs it.
  const granularity = input.config.stepGranularity;
  // Under `checks` no checks job waits for another (phases/check-groups.ts), so no two can wait
  // for each other: every project gets its one job.
  const perProject = granularity === 'target' ? new Set<string>() : granularity === 'checks' ? new Set(tasks.keys()) : projectsOutsideJobCycles(tasks);
  // Under `checks`, a service's build keeps its own job: the image job waits for the build only,
  // not for the project's lint and tests (they run beside it), so the image starts sooner.
  const apart = (t: AffectedTask): boolean => granularity === 'checks' && t.target === 'build' && input.services.has(t.project);
  const jobOf = new Map<string, string>();
  for (const [project, list] of tasks) {
    const own = perProject.has(project) ? list.filter(apart) : list;
    for (const [t, part] of taskParts(own)) jobOf.set(t.id, `${slug(project)}:${part}`);
    if (perProject.has(project)) for (const t of list) if (!apart(t)) jobOf.set(t.id, projectJobKey(slug(project)));
  }
  return { slug, tasks, perProject, jobOf };
}

/** Tasks grouped by project, each project's in the order of `targets` (others last). */
function tasksByProject(tasks: readonly AffectedTask[], targets: readonly string[]): Map<string, AffectedTask[]> {
  const rank = (target: string): number => {
    const i = targets.indexOf(target);
    return i === -1 ? targets.length : i;
  };
  const out = new Map<string, AffectedTask[]>();
  for (const task of tasks) out.set(task.project, [...(out.get(task.project) ?? []), task]);
  for (const list of out.values()) list.sort((a, b) => rank(a.target) - rank(b.target));
  return out;
}

/** One project's task → key part (`test`, `test-2` when two targets clean to the same part or a service step's name). */
function taskParts(tasks: readonly AffectedTask[]): Map<AffectedTask, string> {
  const parts = new Map<AffectedTask, string>();
  const used = new Set<string>();
  const free = (part: string): boolean => !used.has(part) && !RESERVED_PART.test(part);
  for (const t of tasks) {
    const base = keyPart(t.target);
    // `deploy-x-2` is as reserved as `deploy-x` (a numbered suffix never left that pattern, and
    // the loop never ended): such a target's parts start with `task-` instead.
    const stem = RESERVED_PART.test(`${base}-2`) ? `task-${base}` : base;
    let part = free(base) ? base : stem;
    for (let i = 2; !free(part); i++) part = `${stem}-${i}`;
    used.add(part);
    parts.set(t, part);
  }
  return parts;
}

/**
 * The projects that can have one job each. Two project jobs whose tasks depend on each other's
 * (a:build needs b:build, b:test needs a:build) would wait for each other forever; the projects
 * of such a cycle keep one job per task, which the task graph orders.
 */
function projectsOutsideJobCycles(tasks: ReadonlyMap<string, readonly AffectedTask[]>): Set<string> {
  const names = [...tasks.keys()];
  const index = new Map(names.map((n, i) => [n, i]));
  const projectOfTask = new Map<string, string>();
  for (const [project, list] of tasks) for (const t of list) projectOfTask.set(t.id, project);
  const edges = names.map((n, i) => {
    const out = new Set<number>();
    for (const t of tasks.get(n) ?? []) {
      for (const d of t.dependsOn) {
        const j = index.get(projectOfTask.get(d) ?? '');
        if (j !== undefined && j !== i) out.add(j);
      }
    }
    return [...out];
  });
  const alone = new Set(stronglyConnected(names.length, edges).flatMap((c) => (c.length === 1 ? c : [])));
  return new Set(names.filter((_, i) => alone.has(i)));
}
