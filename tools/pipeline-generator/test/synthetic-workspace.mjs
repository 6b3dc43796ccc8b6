// Synthetic Nx workspaces for the pipeline-generator benchmark and its tests: N package.json
// projects in a tree (every project depends on its parent, so the root lib reaches everything)
// plus seeded cross-links, a few of them deployable services, committed in a temp git repo.
// Nx comes from this repository's node_modules (symlinked), so nothing is downloaded.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'synthetic',
  GIT_AUTHOR_EMAIL: 'synthetic@example.invalid',
  GIT_COMMITTER_NAME: 'synthetic',
  GIT_COMMITTER_EMAIL: 'synthetic@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(cwd, ...args) {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function writeJson(file, data) {
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

/** Park–Miller, so the same size always gives the same graph. */
function random(seed) {
  let s = seed % 2147483647 || 1;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

export const NX_JSON = {
  neverConnectToCloud: true,
  defaultBase: 'main',
  namedInputs: {
    default: ['{projectRoot}/**/*', 'sharedGlobals'],
    sharedGlobals: [],
    production: ['default', '!{projectRoot}/**/*.spec.js'],
  },
  targetDefaults: {
    lint: { cache: true, inputs: ['default'] },
    test: { cache: true, inputs: ['default', '^production'] },
    build: { cache: true, dependsOn: ['^build'], inputs: ['production', '^production'] },
  },
};

/**
 * @param {{ projects: number, services?: number, nodeModules: string, parent?: string, seed?: number, branching?: number }} options
 */
export function createSyntheticWorkspace(options) {
  const { projects: n, services = 3, nodeModules, seed = 42, branching = 4 } = options;
  const root = mkdtempSync(join(options.parent ?? tmpdir(), `engex-syn-${n}-`));
  const rand = random(seed + n);
  writeJson(join(root, 'package.json'), {
    name: 'synthetic-workspace',
    version: '0.0.0',
    private: true,
    workspaces: ['libs/*', 'apps/*'],
  });
  writeJson(join(root, 'nx.json'), NX_JSON);
  // engex refuses a workspace without its config; an empty one means every default.
  writeJson(join(root, 'engex.config.json'), {});
  writeFileSync(join(root, '.gitignore'), 'node_modules/\n.nx/\ndist/\nreports/\n');
  symlinkSync(nodeModules, join(root, 'node_modules'), 'dir');

  const firstService = n - services;
  const names = [];
  const roots = [];
  for (let i = 0; i < n; i++) {
    const service = i >= firstService;
    const folder = service ? `svc-${i - firstService + 1}` : `lib-${String(i).padStart(4, '0')}`;
    names.push(`@syn/${folder}`);
    roots.push(`${service ? 'apps' : 'libs'}/${folder}`);
  }
  for (let i = 0; i < n; i++) {
    const deps = new Set();
    if (i > 0) deps.add(Math.floor((i - 1) / branching));
    // Cross-links point at lower indices only, so the graph stays acyclic like a real workspace.
    if (i > 8 && rand() < 0.5) deps.add(Math.floor(rand() * i));
    const service = i >= firstService;
    const dir = join(root, roots[i]);
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeJson(join(dir, 'package.json'), {
      name: names[i],
      version: '0.0.0',
      private: true,
      scripts: { lint: 'node -e 0', test: 'node -e 0', build: 'node -e 0' },
      dependencies: Object.fromEntries([...deps].sort((a, b) => a - b).map((d) => [names[d], '*'])),
      nx: service ? { tags: ['engex:service'], metadata: { engex: { port: 3000 } } } : { tags: ['type:lib'] },
    });
    writeFileSync(join(dir, 'src', 'index.js'), `export const id = ${i};\n`);
    writeFileSync(join(dir, 'src', 'index.spec.js'), `// spec of ${names[i]}\n`);
  }
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'synthetic workspace');

  const leaf = n - services - 1;
  return {
    root,
    names,
    roots,
    services: names.slice(firstService),
    /** A library nothing depends on. */
    leaf: { name: names[leaf], source: `${roots[leaf]}/src/index.js`, spec: `${roots[leaf]}/src/index.spec.js` },
    /** The library everything depends on. */
    rootLib: { name: names[0], source: `${roots[0]}/src/index.js`, spec: `${roots[0]}/src/index.spec.js` },
    /** Appends a line to `file` and commits it; returns the new HEAD. */
    commitChange(file, message = `change ${file}`) {
      writeFileSync(join(root, file), `// ${message}\n`, { flag: 'a' });
      git(root, 'add', '--', file);
      git(root, 'commit', '-q', '-m', message);
      return git(root, 'rev-parse', 'HEAD');
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
