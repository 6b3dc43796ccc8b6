/**
 * Names a new service may not take. Each would collide with something the workspace, npm or the
 * pipeline already gives a meaning to, even where no folder of that name exists today:
 * - our own packages and tools: `@engex/<name>` must stay unique across apps, libs and tools;
 * - folders and files of the repo root and of every project (`apps/apps`, `apps/dist`, ...);
 * - words that read as a role, not a service, in an image name like `engex/api`.
 */
export const RESERVED_SERVICE_NAMES: readonly string[] = [
  // workspace packages and the root package `@engex/source`
  'ci-lib',
  'pipeline-generator',
  'workspace-plugin',
  'service-kit',
  'e2e',
  'source',
  'engex',
  // workspace and project folders
  'app',
  'apps',
  'lib',
  'libs',
  'tool',
  'tools',
  'src',
  'dist',
  'out-tsc',
  'node-modules',
  'docker',
  'bench',
  'shared',
  'coverage',
  'tmp',
  'test',
  'tests',
  'spec',
  'fixtures',
  'scripts',
  // toolchain names that would shadow a real package or command
  'nx',
  'npm',
  'node',
  'vitest',
  'typescript',
  'esbuild',
  // roles, not services
  'api',
  'service',
  'services',
  'default',
  'latest',
  'ops',
  'ci',
  'infra',
  'terraform',
  'admin',
  'www',
];

/** kebab-case: lowercase words of letters and digits joined by single dashes, starting with a letter. */
export const SERVICE_NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The name becomes a Kubernetes object name and DNS label in the ops repo, which caps it at 63. */
export const MAX_SERVICE_NAME_LENGTH = 63;

export interface ServiceNameContext {
  /** Project names Nx already knows, e.g. `@engex/halow`. */
  projects: readonly string[];
  /** Project roots, e.g. `apps/halow`, `libs/ci-lib`. */
  roots: readonly string[];
  /** Whether `apps/<name>` already exists (as a file or folder, a project or not). */
  folderExists: boolean;
}

/**
 * Every reason `name` cannot become `apps/<name>` (`@engex/<name>`), as messages that say what to
 * use instead; empty when it can. ECR rules are checked by ci-lib's `resolveServiceConfig`.
 */
export function validateServiceName(name: string, context: ServiceNameContext): string[] {
  if (name === '') return ['is required, e.g. `nx g @engex/workspace-plugin:service billing`'];
  const problems: string[] = [];
  if (!SERVICE_NAME_PATTERN.test(name)) {
    const suggestion = toKebabCase(name);
    problems.push(
      `${JSON.stringify(name)} is not kebab-case: use lowercase letters and digits in words joined by single dashes, ` +
        `starting with a letter${suggestion && suggestion !== name && SERVICE_NAME_PATTERN.test(suggestion) ? ` (did you mean ${suggestion}?)` : ''}`,
    );
  }
  if (name.length > MAX_SERVICE_NAME_LENGTH) {
    problems.push(`is ${name.length} characters long; at most ${MAX_SERVICE_NAME_LENGTH} fit a Kubernetes name`);
  }
  if (RESERVED_SERVICE_NAMES.includes(name)) {
    problems.push(`${JSON.stringify(name)} is reserved (see RESERVED_SERVICE_NAMES in tools/workspace-plugin); pick a name for what the service does`);
  }
  const projectName = `@engex/${name}`;
  const clash = context.projects.find((p) => p === name || p === projectName);
  const folderClash = context.roots.find((root) => root.split('/').pop() === name);
  if (context.folderExists) {
    problems.push(`apps/${name} already exists; pick another name or remove the folder`);
  } else if (clash !== undefined) {
    problems.push(`an Nx project named ${clash} already exists; pick another name`);
  } else if (folderClash !== undefined) {
    problems.push(`${folderClash} already exists and its package would share the name ${projectName}; pick another name`);
  }
  return problems;
}

function toKebabCase(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[-0-9]+|-+$/g, '');
}
