import { describe, expect, it } from 'vitest';
import { findCycle, postOrder, reachable, stableOrder, stronglyConnected } from './graph.js';

const adjacency =
  (edges: Record<string, string[]>) =>
  (n: string): string[] =>
    edges[n] ?? [];

describe('reachable', () => {
  it('walks breadth-first, starts first and deduplicated, with shortest-path parents', () => {
    const next = adjacency({ a: ['b', 'c'], b: ['d'], c: ['d'], d: ['a'] });
    const { order, parent } = reachable(['a', 'a'], next);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(Object.fromEntries(parent)).toEqual({ b: 'a', c: 'a', d: 'b' });
  });
});

describe('postOrder', () => {
  it('puts every node after what it leads to, ignoring back edges, roots in the order given', () => {
    const next = adjacency({ app: ['lib', 'util'], lib: ['util'], util: ['app'], other: [] });
    expect(postOrder(['other', 'app', 'lib'], next)).toEqual(['other', 'util', 'lib', 'app']);
  });

  it('survives a 100,000-node chain', () => {
    const n = 100_000;
    expect(postOrder([0], (i) => (i < n - 1 ? [i + 1] : [])).slice(0, 2)).toEqual([n - 1, n - 2]);
  });
});

describe('findCycle', () => {
  it('returns the cycle as a closed path', () => {
    expect(findCycle(['a', 'b', 'c'], adjacency({ a: ['b'], b: ['c'], c: ['b'] }))).toEqual(['b', 'c', 'b']);
    expect(findCycle(['a'], adjacency({ a: ['a'] }))).toEqual(['a', 'a']);
  });

  it('is undefined for a DAG with shared nodes', () => {
    expect(findCycle(['a', 'b', 'c', 'd'], adjacency({ a: ['b', 'c'], b: ['d'], c: ['d'] }))).toBeUndefined();
  });
});

describe('stableOrder', () => {
  it('takes the lowest-numbered ready node, so input order survives where dependencies allow', () => {
    // 0 waits for 3; 2 waits for 1.
    expect(
      stableOrder(4, [[3], [], [1], []], () => {
        throw new Error('no cycle here');
      }),
    ).toEqual([1, 2, 3, 0]);
  });

  it('asks what to place when only a cycle remains', () => {
    const seen: number[][] = [];
    const order = stableOrder(3, [[1], [0], []], (remaining) => {
      seen.push(remaining);
      return remaining[0] as number;
    });
    expect(order).toEqual([2, 0, 1]);
    expect(seen).toEqual([[0, 1]]);
    expect(() =>
      stableOrder(1, [[0]], (r) => {
        throw new Error(`cycle among ${r.join(',')}`);
      }),
    ).toThrow('cycle among 0');
  });
});

describe('stronglyConnected', () => {
  it('emits components dependencies-first, members ascending', () => {
    // 0 -> 1 <-> 2 -> 3
    expect(stronglyConnected(4, [[1], [2], [1, 3], []])).toEqual([[3], [1, 2], [0]]);
  });
});
