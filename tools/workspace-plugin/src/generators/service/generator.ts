import { fileURLToPath } from 'node:url';
import { generateFiles, installPackagesTask, logger, readJson, updateJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import { readEcrLocalsEdit, renderEcrInstructions, writeEcrLocalsEdit } from '../../lib/read-ecr-locals.js';
import { normalizeServiceOptions, type NormalizedServiceOptions } from './normalize-options.js';
import type { ServiceGeneratorSchema } from './schema.js';

/** The service templates: halow's files with its name, port and metadata as EJS variables. */
export const SERVICE_TEMPLATES = fileURLToPath(new URL('./files', import.meta.url));

/**
 * `nx g @engex/workspace-plugin:service <name>`: adds `apps/<name>` as a sibling of halow.
 *
 * Every check runs before the first write, so a refused name or an unusable Terraform file leaves
 * the workspace untouched. The Terraform file lives in another repository, outside Nx's tree: it
 * is read and edited in memory here and written by the returned task, which Nx skips on --dry-run.
 * The task then runs `npm install`, which links the new workspace package and records it in
 * package-lock.json (pass --skip-install to do that yourself).
 */
export async function serviceGenerator(tree: Tree, schema: ServiceGeneratorSchema): Promise<GeneratorCallback> {
  const options = normalizeServiceOptions(tree, schema, process.cwd());
  const terraform = options.terraformLocals === null ? null : readEcrLocalsEdit(options.terraformLocals, options.name, options.source);

  generateFiles(tree, SERVICE_TEMPLATES, options.projectRoot, templateVariables(options));
  registerInWorkspace(tree, options);

  logger.info(renderEcrInstructions(options.repository, options.ecrLocal, terraform));
  return () => {
    if (terraform) writeEcrLocalsEdit(terraform);
    if (!options.skipInstall) installPackagesTask(tree, true);
    logger.info(renderNextSteps(options));
  };
}

export default serviceGenerator;

export function templateVariables(options: Pick<NormalizedServiceOptions, 'name' | 'projectName' | 'description' | 'ownerTeam' | 'port'>): Record<string, unknown> {
  return {
    tmpl: '',
    name: options.name,
    projectName: options.projectName,
    description: options.description,
    ownerTeam: options.ownerTeam,
    port: options.port,
    /** JSON string literals, for values that land in package.json. */
    json: (value: unknown) => JSON.stringify(value),
  };
}

/**
 * npm workspaces pick `apps/<name>` up through the root `apps/*` glob (added if a workspace lacks
 * it), and the root tsconfig.json gets the project reference `nx sync` would add, so
 * `tsc -b` and the typecheck targets see the new project at once.
 */
function registerInWorkspace(tree: Tree, options: NormalizedServiceOptions): void {
  const rootPackage = readJson<{ workspaces?: string[] }>(tree, 'package.json');
  if (!(rootPackage.workspaces ?? []).some((glob) => glob === 'apps/*' || glob === options.projectRoot)) {
    updateJson(tree, 'package.json', (json: { workspaces?: string[] }) => ({ ...json, workspaces: [...(json.workspaces ?? []), 'apps/*'] }));
  }
  if (tree.exists('tsconfig.json')) {
    const reference = `./${options.projectRoot}`;
    updateJson(tree, 'tsconfig.json', (json: { references?: { path: string }[] }) => {
      const references = json.references ?? [];
      if (references.some((r) => r.path.replace(/\/$/, '') === reference)) return json;
      return { ...json, references: [...references, { path: reference }] };
    });
  }
}

function renderNextSteps(options: NormalizedServiceOptions): string {
  return [
    '',
    `${options.projectName} is ready in ${options.projectRoot}. Next:`,
    ...(options.skipInstall ? ['  npm install            # links the new workspace package and records it in package-lock.json'] : []),
    `  npx nx test ${options.name}     # route tests and the graceful-shutdown test on the bundle`,
    `  npx nx build ${options.name}    # ${options.projectRoot}/dist/main.cjs, what docker/Dockerfile packs with APP=${options.name}`,
    `  git add ${options.projectRoot} package-lock.json tsconfig.json && git commit`,
    `The pipeline then builds, scans and pushes ${options.repository} and bumps ${options.opsRepo} by convention.`,
    '',
  ].join('\n');
}
