import { stronglyConnected } from './graph.js';
import { allSteps, type Pipeline, type PipelineStep } from './pipeline.js';

/** Buildkite creates at most 500 jobs from one `pipeline upload`. */
export const MAX_JOBS_PER_UPLOAD = 500;

/** Command and block steps: Buildkite makes a job of each. */
export function jobCount(pipeline: Pick<Pipeline, 'steps'>): number {
  return allSteps(pipeline).length;
}

/**
 * Splits a pipeline into uploads of at most `maxJobs` jobs. A group never straddles uploads, and
 * uploads come in dependency order (groups that depend on each other in a cycle stay together),
 * so every `depends_on` names a step uploaded earlier or in the same upload. Build-level notify
 * goes with the first upload.
 */
export function splitPipeline(pipeline: Pipeline, maxJobs = MAX_JOBS_PER_UPLOAD): Pipeline[] {
  if (jobCount(pipeline) <= maxJobs) return [pipeline];
  const units = pipeline.steps;
  const unitOf = new Map<string, number>();
  units.forEach((s, i) => {
    unitOf.set(s.key, i);
    if (s.type === 'group') s.steps.forEach((c) => unitOf.set(c.key, i));
  });
  const edges = units.map((s) => {
    const deps = new Set<number>();
    for (const c of allSteps({ steps: [s] })) {
      for (const d of c.dependsOn) {
        const u = unitOf.get(d);
        if (u !== undefined && u !== units.indexOf(s)) deps.add(u);
      }
    }
    return [...deps];
  });
  const components = stronglyConnected(units.length, edges);
  const uploads: PipelineStep[][] = [];
  let current: PipelineStep[] = [];
  let jobs = 0;
  for (const component of components) {
    const steps = component.map((i) => units[i] as PipelineStep);
    const size = jobCount({ steps });
    if (jobs + size > maxJobs && current.length > 0) {
      uploads.push(current);
      current = [];
      jobs = 0;
    }
    current.push(...steps);
    jobs += size;
  }
  if (current.length > 0) uploads.push(current);
  return uploads.map((steps, i) => ({ steps, notify: i === 0 ? pipeline.notify : [] }));
}
