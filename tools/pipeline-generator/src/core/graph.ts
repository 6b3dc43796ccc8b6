/**
 * The graph walks of the generator, written once: project dependencies, Nx tasks, step
 * `depends_on` and upload splitting all use these. Every walk is iterative (a 1,000-project
 * chain must not exhaust the call stack) and deterministic: ties follow the order the caller
 * gives nodes and edges in.
 */

/** Successors of a node; the caller decides which edges count (e.g. drops self-edges). */
export type Next<T> = (node: T) => Iterable<T>;

/**
 * Breadth-first from `starts` (deduplicated, in the order given). `order` lists every node
 * reached, starts first; `parent` leads each reached non-start node back along a shortest path.
 */
export function reachable<T>(starts: Iterable<T>, next: Next<T>): { order: T[]; parent: Map<T, T> } {
  const order: T[] = [];
  const seen = new Set<T>();
  for (const s of starts) {
    if (seen.has(s)) continue;
    seen.add(s);
    order.push(s);
  }
  const parent = new Map<T, T>();
  for (let i = 0; i < order.length; i++) {
    const node = order[i] as T;
    for (const n of next(node)) {
      if (seen.has(n)) continue;
      seen.add(n);
      parent.set(n, node);
      order.push(n);
    }
  }
  return { order, parent };
}

/**
 * Depth-first post-order from each root in turn: every node after the nodes it leads to, unless
 * they form a cycle (a back edge is ignored). With `next` giving dependencies, this is a
 * topological order, dependencies first.
 */
export function postOrder<T>(roots: Iterable<T>, next: Next<T>): T[] {
  const out: T[] = [];
  const seen = new Set<T>();
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    const stack: [T, Iterator<T>][] = [[root, next(root)[Symbol.iterator]()]];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as [T, Iterator<T>];
      const step = frame[1].next();
      if (step.done) {
        stack.pop();
        out.push(frame[0]);
        continue;
      }
      if (seen.has(step.value)) continue;
      seen.add(step.value);
      stack.push([step.value, next(step.value)[Symbol.iterator]()]);
    }
  }
  return out;
}

/** A cycle as a path that ends where it starts (`a -> b -> a`), or undefined when there is none. */
export function findCycle<T>(nodes: Iterable<T>, next: Next<T>): T[] | undefined {
  const state = new Map<T, 1 | 2>();
  for (const start of nodes) {
    if (state.has(start)) continue;
    const path: T[] = [start];
    const stack: Iterator<T>[] = [next(start)[Symbol.iterator]()];
    state.set(start, 1);
    while (stack.length > 0) {
      const step = (stack[stack.length - 1] as Iterator<T>).next();
      if (step.done) {
        state.set(path.pop() as T, 2);
        stack.pop();
        continue;
      }
      const to = step.value;
      const s = state.get(to);
      if (s === 1) return [...path.slice(path.indexOf(to)), to];
      if (s === undefined) {
        state.set(to, 1);
        path.push(to);
        stack.push(next(to)[Symbol.iterator]());
      }
    }
  }
  return undefined;
}

/**
 * Nodes `0..n-1` in dependency order, always taking the lowest-numbered node whose dependencies
 * are all placed, so input order survives wherever dependencies allow (Kahn's algorithm).
 * `deps[i]` lists the nodes `i` waits for. When only a cycle remains, `onCycle` gets the
 * unplaced nodes (ascending) and returns the one to place next anyway, or throws.
 */
export function stableOrder(n: number, deps: readonly (readonly number[])[], onCycle: (remaining: number[]) => number): number[] {
  const waiting = new Array<number>(n).fill(0);
  const dependents: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    for (const d of new Set(deps[i] ?? [])) {
      waiting[i]++;
      (dependents[d] as number[]).push(i);
    }
  }
  const placed = new Array<boolean>(n).fill(false);
  // Ascending; insertions keep it so, and the smallest is taken first.
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (waiting[i] === 0) ready.push(i);
  const order: number[] = [];
  while (order.length < n) {
    let next: number;
    if (ready.length > 0) next = ready.shift() as number;
    else next = onCycle([...Array(n).keys()].filter((i) => !placed[i]));
    if (placed[next]) continue;
    placed[next] = true;
    order.push(next);
    for (const d of dependents[next] as number[]) {
      if (--(waiting[d] as number) === 0 && !placed[d]) ready.splice(sortedIndex(ready, d), 0, d);
    }
  }
  return order;
}

function sortedIndex(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Strongly connected components of nodes `0..n-1` (Tarjan's algorithm). Components come out
 * dependencies-first (a component after every component it has an edge to), members ascending.
 */
export function stronglyConnected(n: number, edges: readonly (readonly number[])[]): number[][] {
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  const out: number[][] = [];
  let counter = 0;
  const visit = (root: number): void => {
    const work: [number, number][] = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length > 0) {
      const frame = work[work.length - 1] as [number, number];
      const [v, i] = frame;
      const next = (edges[v] ?? [])[i];
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
