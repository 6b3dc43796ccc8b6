import type { ServiceConfig, WorkspaceConfig } from '@engex/workspace-config';
import type { AffectedAnalysis, WorkspaceProject } from './affected.js';
import type { PlanOptions } from './steps/common.js';

/**
 * What the planner, its phases and the summaries share about the build: the planner's input, the
 * context it runs in, the base it compares against, and what happened to each service. `plan.ts`,
 * `phases/` and `summary.ts` read these, so they live below all of them.
 */

/** Everything the planner reads; the io layer gathers and checks it, the planner only reads it. */
export interface PlanPipelineInput {
  context: BuildContext;
  base: BaseSummary;
  config: WorkspaceConfig;
  projects: readonly WorkspaceProject[];
  /**
   * Each deployable service's config by project name, resolved once by the io layer from its
   * checked package.json (config errors surface there, before planning). A project without an
   * entry is not a service.
   */
  services: ReadonlyMap<string, ServiceConfig>;
  analysis: AffectedAnalysis;
  options: PlanOptions;
}

export type BaseRule =
  /** `--base`/`--head` or NX_BASE/NX_HEAD. */
  | 'explicit'
  /** `git merge-base origin/<PR base branch> HEAD`. */
  | 'pull-request'
  /** The commit of the last passed Buildkite build on the same branch. */
  | 'last-passed-build'
  /** `HEAD~1`. */
  | 'parent-commit'
  /** A branch build outside a PR: `git merge-base origin/<default branch> HEAD`. */
  | 'branch-point'
  /** Outside Buildkite: `origin/<default>`, else `<default>`, else `HEAD~1`, against the working tree. */
  | 'local'
  /** No base: everything runs. */
  | 'none';

/** The build the pipeline is for; everything here was validated at the edge. */
export interface BuildContext {
  /** The commit under test (a sha); images are tagged with it. */
  commit: string;
  branch?: string;
  pullRequest?: number;
  tag?: string;
  /** The pipeline's default branch (Buildkite's, else nx.json `defaultBase`, else `main`). */
  defaultBranch: string;
}

export interface BaseSummary {
  rule: BaseRule | 'all';
  base?: string;
  reason: string;
  notes: readonly string[];
}

export interface ServicePlan {
  project: string;
  /** Keys of its image, scan, smoke, approval, deploy and verify steps. */
  steps: readonly string[];
  /** Why its image is rebuilt when Nx did not say so (e.g. the shared Dockerfile changed). */
  why?: string;
  skipped?: string;
  /** Overlays it deploys to this build with no `url` and no `argocd`: nothing verifies them. */
  unverified?: readonly string[];
}

/** The build's trust zone as the summaries show it (`decideTrust` in @engex/workspace-config). */
export interface ZoneSummary {
  zone: 'trusted' | 'untrusted';
  /** Why, e.g. `pull request #42: pull-request code is unreviewed`. */
  reason: string;
  /** What the zone means for this build's queues, pushes, deploys and caches. */
  effect: string;
}
