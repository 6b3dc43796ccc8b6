import { SERVICE_TAG, isService, resolveServiceConfig, type ProjectInfo, type ServiceConfig, type WorkspaceConfig } from './config.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { Issues, describe, isRecord } from './validate.js';

/**
 * Pure: a workspace package.json (already parsed) as the project it declares, or undefined with
 * every problem in `issues`. Nx reads the same fields loosely (a string `nx.tags` is not an error
 * there, it just loses the service tag), so they are checked here before anything is planned.
 */
export function validateProjectManifest(raw: unknown, root: string, issues: Issues): ProjectInfo | undefined {
  if (!isRecord(raw)) {
    issues.add('', `expected a JSON object, got ${describe(raw)}`);
    return undefined;
  }
  const before = issues.list.length;
  const name = raw['name'];
  if (typeof name !== 'string' || name === '') issues.add('name', `expected the package name as a non-empty string, got ${describe(name)}`);
  const nx = raw['nx'] ?? {};
  if (!isRecord(nx)) issues.add('nx', `expected an object, got ${describe(nx)}`);
  const block = isRecord(nx) ? nx : {};
  const tags = block['tags'] ?? [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) issues.add('nx.tags', `expected an array of strings, got ${describe(tags)}`);
  const metadata = block['metadata'];
  if (metadata !== undefined && !isRecord(metadata)) issues.add('nx.metadata', `expected an object, got ${describe(metadata)}`);
  if (issues.list.length > before) return undefined;
  return {
    name: name as string,
    root,
    tags: tags as string[],
    ...(isRecord(metadata) ? { metadata } : {}),
  };
}

/**
 * Pure: every project's engex settings checked the way each engex command reads them
 * (`resolveServiceConfig`, the one validator), all problems at once, and the services' resolved
 * configs, so a caller resolves each service once. `nx.metadata.engex` on a project without the
 * service tag is reported too: it would otherwise plan no image and no deploy.
 */
export function validateWorkspaceProjects(config: WorkspaceConfig, projects: readonly ProjectInfo[]): ServiceConfig[] {
  const issues: ConfigIssue[] = [];
  const services: ServiceConfig[] = [];
  for (const project of projects) {
    if (!isService(project)) {
      if (project.metadata?.['engex'] !== undefined) {
        issues.push({
          file: `${project.root}/package.json`,
          path: 'nx.metadata.engex',
          message: `is only read for projects tagged ${JSON.stringify(SERVICE_TAG)}, and nx.tags is ${describe(project.tags)}; add the tag or remove the block`,
        });
      }
      continue;
    }
    try {
      const service = resolveServiceConfig(config, project);
      if (service) services.push(service);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return services;
}
