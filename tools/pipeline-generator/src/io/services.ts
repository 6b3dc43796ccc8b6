import type { ServiceConfig } from '@engex/workspace-config';
import type { WorkspaceProject } from '../core/affected.js';

/**
 * The services' configs (resolved once, from the checked manifests: Nx 23 keeps none of
 * package.json's nx.metadata on its nodes) under the names of their Nx projects, matched by root.
 * The planner reads only this map: it never resolves a config, so it cannot fail on one mid-plan.
 */
export function servicesByProject(services: readonly ServiceConfig[], projects: readonly Pick<WorkspaceProject, 'name' | 'root'>[]): Map<string, ServiceConfig> {
  const byRoot = new Map(services.map((s) => [s.root, s]));
  return new Map(
    projects.flatMap((p) => {
      const service = byRoot.get(p.root);
      return service ? [[p.name, service] as const] : [];
    }),
  );
}
