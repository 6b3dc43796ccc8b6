import { resolve } from 'node:path';
import { getProjects, type Tree } from '@nx/devkit';
import { ConfigError, SERVICE_TAG, resolveServiceConfig, type ConfigIssue } from '@engex/workspace-config';
import { renderEcrLocal } from '../../lib/ecr-locals.js';
import { InvalidServiceOptionsError, type OptionIssue } from '../../lib/errors.js';
import { readTreeWorkspaceConfig } from '../../lib/read-workspace-config.js';
import { validateServiceName } from '../../lib/service-name.js';
import type { ServiceGeneratorSchema } from './schema.js';

/** Every option with its default applied and checked; nothing after `normalizeServiceOptions` re-applies one. */
export interface NormalizedServiceOptions {
  /** `billing`: the folder, the log `service` field and the last segment of the image name. */
  name: string;
  /** `@engex/billing`: the npm workspace package and the Nx project. */
  projectName: string;
  /** `apps/billing`. */
  projectRoot: string;
  /** Default `<name> HTTP service`. */
  description: string;
  /** Default 3000, like halow: each service has its own container, so they need not differ. */
  port: number;
  /** Default `engex`. */
  ownerTeam: string;
  /** ECR repository, `<repoPrefix><name>` from engex.config.json: `engex/billing`. */
  repository: string;
  /** engex.config.json `source`, the OCI source label and the Terraform `source`. */
  source: string;
  /** The ops repo the deploy step bumps: engex.config.json `opsRepo` with `{service}` = name. */
  opsRepo: string;
  /** The map entry for the Terraform repo's `engex` section. */
  ecrLocal: string;
  /** Absolute path of the Terraform file to edit, or null to print the entry only. */
  terraformLocals: string | null;
  skipInstall: boolean;
}

export const DEFAULT_PORT = 3000;
export const DEFAULT_OWNER_TEAM = 'engex';

/**
 * Applies the defaults and validates every option, reporting all problems at once. The service is
 * also put through workspace-config's `resolveServiceConfig`, the exact check the pipeline will apply to it,
 * so a service this accepts is one the pipeline accepts. `cwd` resolves `--terraform-locals`.
 *
 * @throws InvalidServiceOptionsError before anything is written.
 */
export function normalizeServiceOptions(tree: Tree, schema: ServiceGeneratorSchema, cwd: string): NormalizedServiceOptions {
  const workspace = readTreeWorkspaceConfig(tree);
  const name = typeof schema.name === 'string' ? schema.name : '';
  const projectRoot = `apps/${name}`;
  const projects = [...getProjects(tree).entries()];
  const issues: OptionIssue[] = validateServiceName(name, {
    projects: projects.map(([projectName]) => projectName),
    roots: projects.map(([, project]) => project.root),
    folderExists: name !== '' && tree.exists(projectRoot),
  }).map((message) => ({ option: 'name', message }));

  const description = schema.description ?? `${name} HTTP service`;
  const port = schema.port ?? DEFAULT_PORT;
  const ownerTeam = schema.ownerTeam ?? DEFAULT_OWNER_TEAM;
  const engex = { description, ownerTeam, port };
  let repository = `${workspace.registry.repoPrefix}${name}`;
  let opsRepo = workspace.opsRepo.replaceAll('{service}', name);
  try {
    const resolved = resolveServiceConfig(workspace, {
      name: `@engex/${name}`,
      root: projectRoot,
      tags: [SERVICE_TAG],
      metadata: { engex },
    });
    repository = resolved?.repository ?? repository;
    opsRepo = resolved?.opsRepo ?? opsRepo;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const nameIsBad = issues.length > 0;
    for (const issue of error.issues) {
      const option = optionFor(issue);
      if (option === 'name' && nameIsBad) continue;
      issues.push({ option, message: messageFor(issue, option, repository) });
    }
  }
  if (issues.length > 0) throw new InvalidServiceOptionsError(issues);

  return {
    name,
    projectName: `@engex/${name}`,
    projectRoot,
    description,
    port,
    ownerTeam,
    repository,
    source: workspace.source,
    opsRepo,
    ecrLocal: renderEcrLocal(name, workspace.source),
    terraformLocals: schema.terraformLocals === undefined || schema.terraformLocals === '' ? null : resolve(cwd, schema.terraformLocals),
    skipInstall: schema.skipInstall ?? false,
  };
}

const OPTION_BY_PATH: Record<string, string> = {
  'nx.metadata.engex.description': 'description',
  'nx.metadata.engex.ownerTeam': 'owner-team',
  'nx.metadata.engex.port': 'port',
};

function optionFor(issue: ConfigIssue): string {
  return OPTION_BY_PATH[issue.path] ?? 'name';
}

function messageFor(issue: ConfigIssue, option: string, repository: string): string {
  return option === 'name' && issue.path.endsWith('.repository') ? `ECR repository ${JSON.stringify(repository)}: ${issue.message}` : issue.message;
}
