import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  generateFiles,
  installPackagesTask,
  logger,
  readJson,
  updateJson,
  type GeneratorCallback,
  type Tree,
} from '@nx/devkit';
import { ECR_LOCALS_FILE, insertEcrLocal } from '../../lib/ecr-locals.js';
import { InvalidServiceOptionsError } from '../../lib/errors.js';
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
  const terraform = options.terraformLocals === null ? null : planTerraformEdit(options.terraformLocals, options);

  generateFiles(tree, SERVICE_TEMPLATES, options.projectRoot, templateVariables(options));
  registerInWorkspace(tree, options);

  logger.info(renderEcrInstructions(options, terraform));
  return () => {
    if (terraform?.changed) writeFileSync(terraform.path, terraform.text);
    if (!options.skipInstall) installPackagesTask(tree, true);
    logger.info(renderNextSteps(options));
  };
}

export default serviceGenerator;

export function templateVariables(
  options: Pick<NormalizedServiceOptions, 'name' | 'projectName' | 'description' | 'ownerTeam' | 'port'>,
): Record<string, unknown> {
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

interface TerraformEdit {
  path: string;
  text: string;
  changed: boolean;
}

function planTerraformEdit(path: string, options: NormalizedServiceOptions): TerraformEdit {
  let before: string;
  try {
    before = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new InvalidServiceOptionsError([
      { option: 'terraform-locals', message: `cannot read ${path} (${reason}); pass the path of ${ECR_LOCALS_FILE} in your Terraform checkout` },
    ]);
  }
  const text = insertEcrLocal(before, options.name, options.source, path);
  return { path, text, changed: text !== before };
}

export function renderEcrInstructions(options: NormalizedServiceOptions, terraform: TerraformEdit | null): string {
  if (terraform === null) {
    return [
      '',
      `The ECR repository ${options.repository} is declared in the Terraform repo. Add this line to the`,
      `engex section of ${ECR_LOCALS_FILE}`,
      '(or run again with --terraform-locals <path to that file> to have it inserted):',
      '',
      `    ${options.ecrLocal}`,
      '',
    ].join('\n');
  }
  return terraform.changed
    ? `\nECR repository ${options.repository}: adding to the engex section of ${terraform.path}:\n\n    ${options.ecrLocal}\n`
    : `\nECR repository ${options.repository}: already in the engex section of ${terraform.path}; left as is.\n`;
}

function renderNextSteps(options: NormalizedServiceOptions): string {
  return [
    '',
    `${options.projectName} is ready in ${options.projectRoot}. Next:`,
    `  npx nx test ${options.name}     # route tests and the graceful-shutdown test on the bundle`,
    `  npx nx build ${options.name}    # ${options.projectRoot}/dist/main.cjs, what docker/Dockerfile packs with APP=${options.name}`,
    `  git add ${options.projectRoot} package-lock.json tsconfig.json && git commit`,
    `The pipeline then builds, scans and pushes ${options.repository} and bumps ${options.opsRepo} by convention.`,
    '',
  ].join('\n');
}
