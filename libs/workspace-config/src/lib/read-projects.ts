import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isService, resolveServiceConfig, type ProjectInfo, type ServiceConfig, type WorkspaceConfig } from './config.js';
import { ConfigError, UsageError, type ConfigIssue } from './errors.js';
import { validateProjectManifest } from './project-manifest.js';
import { Issues, isRecord } from './validate.js';

async function readJson(file: string, label: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([{ file: label, path: '', message: `cannot be read as JSON: ${(error as Error).message}` }]);
  }
}

/**
 * Lists workspace packages from the root package.json `workspaces` (the `dir/*` and literal forms
 * this repo uses) and reads each one's name and `nx` block. Services are found by their Nx tag in
 * package.json; computing the full Nx project graph would cost seconds per CI step for the same
 * answer, because our convention keeps tags and metadata there.
 */
export async function readWorkspaceProjects(root: string): Promise<ProjectInfo[]> {
  const pkg = await readJson(join(root, 'package.json'), 'package.json');
  const patterns = isRecord(pkg) && Array.isArray(pkg['workspaces']) ? pkg['workspaces'].filter((p): p is string => typeof p === 'string') : [];
  const dirs: string[] = [];
  for (const pattern of patterns) {
    if (pattern.endsWith('/*') && !pattern.slice(0, -2).includes('*')) {
      const parent = pattern.slice(0, -2);
      const entries = await readdir(join(root, parent), { withFileTypes: true }).catch(() => []);
      for (const entry of entries) if (entry.isDirectory()) dirs.push(`${parent}/${entry.name}`);
    } else if (!pattern.includes('*')) {
      dirs.push(pattern.replace(/\/$/, ''));
    }
  }
  const projects: ProjectInfo[] = [];
  // Every manifest is read and checked before failing, so one run names every bad file.
  const problems: ConfigIssue[] = [];
  await Promise.all(
    dirs.sort().map(async (dir, i) => {
      const file = join(root, dir, 'package.json');
      if (!existsSync(file)) return;
      const label = `${dir}/package.json`;
      let manifest: unknown;
      try {
        manifest = await readJson(file, label);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(...error.issues);
        return;
      }
      const issues = new Issues(label);
      const project = validateProjectManifest(manifest, dir, issues);
      problems.push(...issues.list);
      if (project) projects[i] = project;
    }),
  );
  if (problems.length > 0) throw new ConfigError(problems.sort((a, b) => a.file.localeCompare(b.file)));
  return projects.filter((p): p is ProjectInfo => p !== undefined);
}

/** Pure: finds a service by Nx project name (`@engex/halow`) or folder name (`halow`). */
export function findServiceProject(projects: readonly ProjectInfo[], query: string): ProjectInfo {
  const matches = projects.filter((p) => p.name === query || p.root.split('/').pop() === query);
  const services = projects.filter(isService).map((p) => p.name);
  const known = services.length > 0 ? services.join(', ') : '(none)';
  if (matches.length === 0) throw new UsageError(`--project ${JSON.stringify(query)}: no such project; services in this workspace: ${known}`);
  if (matches.length > 1) throw new UsageError(`--project ${JSON.stringify(query)} matches ${matches.map((p) => p.name).join(' and ')}; use the full project name`);
  const project = matches[0]!;
  if (!isService(project)) {
    throw new UsageError(
      `--project ${JSON.stringify(query)}: ${project.name} is not a deployable service (no "engex:service" tag in ${project.root}/package.json); services: ${known}`,
    );
  }
  return project;
}

/** Reads the workspace and returns the service's fully resolved config. */
export async function readServiceConfig(root: string, config: WorkspaceConfig, query: string): Promise<ServiceConfig> {
  const project = findServiceProject(await readWorkspaceProjects(root), query);
  return resolveServiceConfig(config, project)!;
}
