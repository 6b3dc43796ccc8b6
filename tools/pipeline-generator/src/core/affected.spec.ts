import { describe, expect, it } from 'vitest';
import { analyze } from '../../test/fixtures.js';
import { analyzeAffected, type AnalyzeAffectedInput, type TaskNode } from './affected.js';
import { filterFiles } from '../io/nx-adapter.js';

const summary = (changed: string[]) => {
  const a = analyze(changed);
  return {
    affected: a.affected.map((p) => `${p.name}${p.via ? ` via ${p.via.join('>')}` : ''}`),
    tasks: a.tasks.map((t) => `${t.id}${t.dependsOn.length ? ` <- ${t.dependsOn.join(',')}` : ''}`).sort(),
    skipped: a.skipped.map((s) => `${s.project}:${s.target}`),
  };
};

describe('analyzeAffected', () => {
  it('a library change reaches its dependents, with the dependency path', () => {
    expect(summary(['libs/util/src/index.ts'])).toEqual({
      affected: ['@acme/api via @acme/api>@acme/util', '@acme/util'],
      tasks: ['@acme/api:build <- @acme/util:build', '@acme/api:test', '@acme/util:build', '@acme/util:lint', '@acme/util:test'],
      skipped: ['@acme/api:lint'],
    });
  });

  it('a spec change in a library runs its own tests only: dependents read its production files', () => {
    expect(summary(['libs/util/src/index.spec.ts'])).toEqual({
      affected: ['@acme/api via @acme/api>@acme/util', '@acme/util'],
      tasks: ['@acme/util:lint', '@acme/util:test'],
      skipped: ['@acme/api:lint', '@acme/api:test', '@acme/util:build', '@acme/api:build'],
    });
  });

  it('a workspace file in every input (tsconfig.base.json) reaches every task', () => {
    const a = analyze(['tsconfig.base.json']);
    expect(a.tasks).toHaveLength(6);
    expect(a.tasks.find((t) => t.id === '@acme/api:build')?.why).toBe('inputs changed: tsconfig.base.json');
  });

  it('a file outside every project and every input affects nothing', () => {
    expect(summary(['README.md'])).toEqual({ affected: [], tasks: [], skipped: [] });
  });

  it('orders tasks dependencies first', () => {
    const ids = analyze(['libs/util/src/index.ts']).tasks.map((t) => t.id);
    expect(ids.indexOf('@acme/util:build')).toBeLessThan(ids.indexOf('@acme/api:build'));
  });

  it('collapses dependencies through tasks that do not run', () => {
    const graph = new Map<string, TaskNode>([
      ['c:build', { project: 'c', target: 'build', deps: ['b:build'] }],
      ['b:build', { project: 'b', target: 'build', deps: ['a:build'] }],
      ['a:build', { project: 'a', target: 'build', deps: [] }],
    ]);
    const p = (name: string) => ({ name, root: name, tags: [], metadata: {}, targets: { build: {} } });
    const input: AnalyzeAffectedInput = {
      projects: [p('a'), p('b'), p('c')],
      dependencies: new Map([
        ['c', ['b']],
        ['b', ['a']],
      ]),
      changedFiles: ['a/x.ts', 'c/x.ts'],
      fileOwners: new Map([
        ['a/x.ts', 'a'],
        ['c/x.ts', 'c'],
      ]),
      touchedBy: new Map(),
      all: false,
      targets: ['build'],
      // b only reads its own files, so a's change does not reach b:build …
      inputSpec: (project) => ({
        self: ['{projectRoot}/**/*'],
        dependencyInputs: project === 'b' ? [] : ['default'],
        dependencyFilesets: [],
        dependencyOutputs: false,
        otherProjects: [],
      }),
      namedInputFilesets: () => ['{projectRoot}/**/*'],
      filterFiles,
      taskGraph: () => graph,
    };
    const a = analyzeAffected(input);
    // … and c:build still waits for a:build, through b:build that does not run.
    expect(a.tasks.map((t) => `${t.id} <- ${t.dependsOn.join(',')}`)).toEqual(['a:build <- ', 'c:build <- a:build']);
    expect(a.skipped).toEqual([{ project: 'b', target: 'build', why: 'no change reaches its inputs' }]);
  });

  it("a target that hashes its dependencies' outputs runs when they run", () => {
    const graph = new Map<string, TaskNode>([
      ['b:typecheck', { project: 'b', target: 'typecheck', deps: ['a:typecheck'] }],
      ['a:typecheck', { project: 'a', target: 'typecheck', deps: [] }],
    ]);
    const p = (name: string) => ({ name, root: name, tags: [], metadata: {}, targets: { typecheck: {} } });
    const a = analyzeAffected({
      projects: [p('a'), p('b')],
      dependencies: new Map([['b', ['a']]]),
      changedFiles: ['a/src/x.ts'],
      fileOwners: new Map([['a/src/x.ts', 'a']]),
      touchedBy: new Map(),
      all: false,
      targets: ['typecheck'],
      inputSpec: () => ({ self: ['{projectRoot}/**/*.ts'], dependencyInputs: [], dependencyFilesets: ['{projectRoot}/**/*.d.ts'], dependencyOutputs: true, otherProjects: [] }),
      namedInputFilesets: () => [],
      filterFiles,
      taskGraph: () => graph,
    });
    expect(a.tasks.map((t) => [t.id, t.why])).toEqual([
      ['a:typecheck', 'inputs changed: a/src/x.ts'],
      ['b:typecheck', 'consumes outputs of a:typecheck, which runs'],
    ]);
  });

  it('a project Nx touched for a non-file reason runs every task', () => {
    const base = analyze([]);
    expect(base.tasks).toEqual([]);
    const graph = new Map<string, TaskNode>([
      ['x:build', { project: 'x', target: 'build', deps: [] }],
      ['x:test', { project: 'x', target: 'test', deps: [] }],
    ]);
    const a = analyzeAffected({
      projects: [{ name: 'x', root: 'x', tags: [], metadata: {}, targets: { build: {}, test: {} } }],
      dependencies: new Map([['x', ['npm:left-pad']]]),
      changedFiles: ['package-lock.json'],
      fileOwners: new Map(),
      touchedBy: new Map([['npm:left-pad', ['npm dependencies or tsconfig paths changed']]]),
      all: false,
      targets: ['test', 'build'],
      inputSpec: () => ({ self: ['{projectRoot}/**/*'], dependencyInputs: ['default'], dependencyFilesets: [], dependencyOutputs: false, otherProjects: [] }),
      namedInputFilesets: () => ['{projectRoot}/**/*'],
      filterFiles,
      taskGraph: () => graph,
    });
    expect(a.affected).toEqual([{ name: 'x', files: [], touchedBy: [], via: ['x', 'npm:left-pad'] }]);
    expect(a.tasks.map((t) => [t.id, t.why])).toEqual([
      ['x:test', 'dependency npm:left-pad changed'],
      ['x:build', 'dependency npm:left-pad changed'],
    ]);
  });

  it('nx.json runs everything; --all runs everything and says why', () => {
    expect(analyze(['nx.json']).tasks).toHaveLength(0);
    const all = analyze([], { all: '--all' });
    expect(all.tasks).toHaveLength(6);
    expect(new Set(all.tasks.map((t) => t.why))).toEqual(new Set(['--all']));
  });
});
