import type { NxJsonConfiguration } from 'nx/src/config/nx-json.js';
import type { ProjectGraphProjectNode } from 'nx/src/config/project-graph.js';
import {
  expandNamedInput,
  filterUsingGlobPatterns,
  getNamedInputs,
  splitInputsIntoSelfAndDependencies,
} from 'nx/src/hasher/task-hasher.js';
import type { TargetInputSpec } from './affected.js';

/** Nx's default when a target declares no inputs: everything in the project and its deps. */
const DEFAULT_INPUTS = ['default', '^default'];

/**
 * A target's inputs as Nx's hasher reads them (named inputs expanded, `^` split off), reduced to
 * what a file change can reach. Anything that is not a fileset (env, runtime, npm packages) is
 * not a file change; npm changes reach projects through Nx's lock-file locator instead.
 */
export function toInputSpec(nxJson: NxJsonConfiguration, node: ProjectGraphProjectNode, target: string): TargetInputSpec {
  const named = getNamedInputs(nxJson, node);
  const inputs = node.data.targets?.[target]?.inputs ?? DEFAULT_INPUTS;
  const split = splitInputsIntoSelfAndDependencies(inputs, named);
  return {
    self: split.selfInputs.flatMap((i) => ('fileset' in i && typeof i.fileset === 'string' ? [i.fileset] : [])),
    dependencyInputs: split.depsInputs.map((d) => d.input),
    dependencyFilesets: split.depsFilesets.map((d) => d.fileset),
    dependencyOutputs: split.depsOutputs.length > 0,
    otherProjects: split.projectInputs.flatMap((p) => p.projects),
  };
}

/** The filesets of `input` as `node` defines it (a dependency may override a named input). */
export function namedInputFilesets(nxJson: NxJsonConfiguration, node: ProjectGraphProjectNode, input: string): string[] {
  const named = getNamedInputs(nxJson, node) as Record<string, unknown>;
  if (!named[input]) return [];
  return expandNamedInput(input, named as Parameters<typeof expandNamedInput>[1]).flatMap((i) => ('fileset' in i && typeof i.fileset === 'string' ? [i.fileset] : []));
}

/** Nx's own glob filter, on plain paths. */
export function filterFiles(root: string, files: readonly string[], patterns: readonly string[]): string[] {
  return filterUsingGlobPatterns(root, files.map((file) => ({ file, hash: '' })), [...patterns]).map((f) => f.file);
}
