import { commandSteps, type Pipeline, type PipelineStep } from './pipeline.js';

/** Buildkite creates at most 500 jobs from one `pipeline upload`. */
export const MAX_JOBS_PER_UPLOAD = 500;

export function jobCount(pipeline: Pick<Pipeline, 'steps'>): number {
  return commandSteps(pipeline).length;
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
    for (const c of commandSteps({ steps: [s] })) {
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

/**
 * Tarjan's algorithm; components come out dependencies-first (a component is emitted after
 * every component it depends on), members in their original order.
 */
function stronglyConnected(n: number, edges: readonly number[][]): number[][] {
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  const out: number[][] = [];
  let counter = 0;
  const visit = (root: number): void => {
    // Iterative, so 1,000-group chains do not exhaust the call stack.
    const work: [number, number][] = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length > 0) {
      const frame = work[work.length - 1] as [number, number];
      const [v, i] = frame;
      const next = (edges[v] as number[])[i];
      if (next !== undefined) {
        frame[1]++;
        if (index[next] === -1) {
          index[next] = low[next] = counter++;
          stack.push(next);
          onStack[next] = true;
          work.push([next, 0]);
        } else if (onStack[next]) {
          low[v] = Math.min(low[v] as number, index[next] as number);
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low[parent[0]] = Math.min(low[parent[0]] as number, low[v] as number);
      if (low[v] === index[v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop() as number;
          onStack[w] = false;
          component.push(w);
        } while (w !== v);
        out.push(component.sort((a, b) => a - b));
      }
    }
  };
  for (let v = 0; v < n; v++) if (index[v] === -1) visit(v);
  return out;
}
