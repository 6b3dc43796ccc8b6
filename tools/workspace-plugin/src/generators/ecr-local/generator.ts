import { resolve } from 'node:path';
import { getProjects, logger, readJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import { SERVICE_TAG, resolveServiceConfig } from '@engex/workspace-config';
import { renderEcrLocal } from '../../lib/ecr-locals.js';
import { readTreeWorkspaceConfig } from '../../lib/read-workspace-config.js';
import { InvalidServiceOptionsError } from '../../lib/errors.js';
import { readEcrLocalsEdit, renderEcrInstructions, writeEcrLocalsEdit } from '../../lib/read-ecr-locals.js';
import type { EcrLocalGeneratorSchema } from './schema.js';

/** Every option resolved; the service's source and repository come from the same config the pipeline reads. */
export interface NormalizedEcrLocalOptions {
  name: string;
  repository: string;
  source: string;
  ecrLocal: string;
  /** Absolute path of the Terraform file. */
  terraformLocals: string;
}

/**
 * `nx g @engex/workspace-plugin:ecr-local <name> --terraform-locals <file>`: the Terraform half of
 * the service generator, for a service that already exists (generated without the flag, or halow).
 * Touches nothing in this workspace; the file is written by the returned task, so --dry-run only
 * prints what would be added.
 */
export async function ecrLocalGenerator(tree: Tree, schema: EcrLocalGeneratorSchema): Promise<GeneratorCallback> {
  const options = normalizeEcrLocalOptions(tree, schema, process.cwd());
  const edit = readEcrLocalsEdit(options.terraformLocals, options.name, options.source);
  logger.info(renderEcrInstructions(options.repository, options.ecrLocal, edit));
  return () => writeEcrLocalsEdit(edit);
}

export default ecrLocalGenerator;

export function normalizeEcrLocalOptions(tree: Tree, schema: EcrLocalGeneratorSchema, cwd: string): NormalizedEcrLocalOptions {
  const workspace = readTreeWorkspaceConfig(tree);
  const name = schema.name ?? '';
  const terraformLocals = schema.terraformLocals ?? '';
  if (terraformLocals === '') {
    throw new InvalidServiceOptionsError([{ option: 'terraform-locals', message: 'is required: the path of service-ecr-locals.tf' }]);
  }
  const project = [...getProjects(tree).entries()].find(([, p]) => p.root.split('/').pop() === name && (p.tags ?? []).includes(SERVICE_TAG));
  if (name === '' || project === undefined) {
    throw new InvalidServiceOptionsError([
      {
        option: 'name',
        message:
          `no engex service ${JSON.stringify(name)} (a project tagged ${SERVICE_TAG} in a folder of that name); ` +
          `create it with \`nx g @engex/workspace-plugin:service ${name || '<name>'}\``,
      },
    ]);
  }
  const [projectName, config] = project;
  const nx = (readJson(tree, `${config.root}/package.json`) as { nx?: { metadata?: Record<string, unknown> } }).nx ?? {};
  const service = resolveServiceConfig(workspace, {
    name: projectName,
    root: config.root,
    tags: config.tags ?? [],
    ...(nx.metadata ? { metadata: nx.metadata } : {}),
  })!;
  const conventional = `${workspace.registry.repoPrefix}${name}`;
  if (service.repository !== conventional) {
    throw new InvalidServiceOptionsError([
      {
        option: 'name',
        message:
          `${projectName} pushes to ${service.repository} (nx.metadata.engex.repository), not ${conventional}, ` +
          'which is what an entry in the engex section creates; declare that repository in Terraform by hand',
      },
    ]);
  }
  return {
    name,
    repository: service.repository,
    source: service.source,
    ecrLocal: renderEcrLocal(name, service.source),
    terraformLocals: resolve(cwd, terraformLocals),
  };
}
