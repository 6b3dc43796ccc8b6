import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { findWorkspaceRoot } from '@engex/workspace-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNeeding, sharedRequirement } from '@engex/ci-lib/testing';

/**
 * The whole promise of the generator, on a temp copy of this repository: generate `billing`,
 * then test, build, pipeline and affected see it with no other edit.
 *
 * The copy gets the working tree's files (tracked and new, not ignored) and a node_modules made of
 * symlinks into the real one, so nothing is downloaded. `npm install` would link the new
 * workspace package; here the generator runs with --skip-install and the test creates that
 * one link, node_modules/@engex/billing -> apps/billing, itself.
 */

const MINUTES = 60_000;

const ROOT = findWorkspaceRoot(dirname(fileURLToPath(import.meta.url)));
const SCHEMA = sharedRequirement('buildkite/pipeline-schema.json');

/** The inner Nx must not inherit the outer Nx task's or vitest's environment. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(NX_|VITEST|npm_|INIT_CWD$|NODE_OPTIONS$|BUILDKITE|FORCE_COLOR$)/.test(k)) env[k] = v;
  }
  return { ...env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_SKIP_NX_CACHE: 'false', ...extra };
}

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function sh(cwd: string, command: string, args: readonly string[], env: Record<string, string> = {}): Result {
  const r = spawnSync(command, args, { cwd, env: cleanEnv(env), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  // Colour codes would split the words the assertions look for.
  // eslint-disable-next-line no-control-regex -- ESC is exactly what this strips.
  const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');
  return { status: r.status, stdout: plain(r.stdout), stderr: plain(r.stderr) };
}

/** Runs and requires exit 0, showing the output in the failure message otherwise. */
function ok(cwd: string, command: string, args: readonly string[], env: Record<string, string> = {}): string {
  const r = sh(cwd, command, args, env);
  expect(r.status, `${command} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

const git = (cwd: string, ...args: string[]) => ok(cwd, 'git', ['-c', 'user.name=engex test', '-c', 'user.email=test@example.invalid', '-c', 'commit.gpgsign=false', ...args]);

function copyWorkspace(to: string): void {
  const files = ok(ROOT, 'git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
    .split('\0')
    .filter((f) => f !== '');
  for (const file of files) {
    const from = join(ROOT, file);
    if (!existsSync(from)) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), join(to, file));
    else copyFileSync(from, join(to, file));
  }
}

/** node_modules of links into the real one, with @engex/* pointing at the copy's own packages. */
function linkNodeModules(to: string): void {
  const modules = join(to, 'node_modules');
  mkdirSync(join(modules, '@engex'), { recursive: true });
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry === '@engex') continue;
    symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
  }
  for (const group of ['apps', 'libs', 'tools']) {
    if (!existsSync(join(to, group))) continue;
    for (const dir of readdirSync(join(to, group))) {
      const pkg = join(to, group, dir, 'package.json');
      if (!existsSync(pkg)) continue;
      linkPackage(to, `${group}/${dir}`);
      const nested = join(ROOT, group, dir, 'node_modules');
      if (existsSync(nested) && !existsSync(join(to, group, dir, 'node_modules'))) {
        symlinkSync(nested, join(to, group, dir, 'node_modules'));
      }
    }
  }
}

/** What npm workspaces do for a package: node_modules/<name> -> its folder. */
function linkPackage(to: string, root: string): void {
  const name = (JSON.parse(readFileSync(join(to, root, 'package.json'), 'utf8')) as { name: string }).name;
  const link = join(to, 'node_modules', name);
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(relative(dirname(link), join(to, root)), link);
}

/** Every step key in a Buildkite pipeline (or several uploads), groups included. */
function stepKeys(pipeline: unknown): string[] {
  const uploads = Array.isArray(pipeline) ? pipeline : [pipeline];
  const keys: string[] = [];
  const visit = (steps: unknown[]) => {
    for (const step of steps as { key?: string; steps?: unknown[] }[]) {
      if (typeof step.key === 'string') keys.push(step.key);
      if (Array.isArray(step.steps)) visit(step.steps);
    }
  };
  for (const upload of uploads as { steps: unknown[] }[]) visit(upload.steps);
  return keys;
}

describe('nx g @engex/workspace-plugin:service billing, on a temp copy of the repo', () => {
  let pipeline: unknown;
  let work: string;
  let generated: Result;

  beforeAll(() => {
    work = realpathSync(mkdtempSync(join(tmpdir(), 'engex-service-gen-')));
    copyWorkspace(work);
    linkNodeModules(work);
    git(work, 'init', '-q', '-b', 'main');
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', 'base');
    generated = sh(work, 'npx', ['nx', 'g', '@engex/workspace-plugin:service', 'billing', '--skip-install', '--no-interactive']);
    if (generated.status === 0) linkPackage(work, 'apps/billing');
  }, 5 * MINUTES);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it(
    '1. generates apps/billing, prints the ECR block, and registers it with Nx and TypeScript',
    () => {
      expect(generated.status, generated.stdout + generated.stderr).toBe(0);
      expect(generated.stdout).toContain('CREATE apps/billing/src/app.ts');
      expect(generated.stdout).toContain('billing = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }');
      const sync = sh(work, 'npx', ['nx', 'sync:check']);
      expect(sync.status, `nx sync:check wants changes after generating:\n${sync.stdout}\n${sync.stderr}`).toBe(0);

      const graphFile = join(work, 'graph.json');
      ok(work, 'npx', ['nx', 'graph', `--file=${graphFile}`]);
      const { graph } = JSON.parse(readFileSync(graphFile, 'utf8')) as {
        graph: { nodes: Record<string, { data: { root: string; tags?: string[]; targets: object } }> };
      };
      rmSync(graphFile);
      const billing = graph.nodes['@engex/billing'];
      const halow = graph.nodes['@engex/halow'];
      expect(billing?.data.root).toBe('apps/billing');
      expect(billing?.data.tags).toEqual(halow?.data.tags);
      expect(billing?.data.tags).toEqual(expect.arrayContaining(['engex:service', 'type:app', 'scope:service']));
      expect(Object.keys(billing!.data.targets).sort()).toEqual(Object.keys(halow!.data.targets).sort());
    },
    5 * MINUTES,
  );

  it(
    '2. nx typecheck, nx lint (the inferred target, module boundaries included) and nx test billing pass',
    () => {
      ok(work, 'npx', ['nx', 'typecheck', 'billing', '--outputStyle=static']);
      const lint = ok(work, 'npx', ['nx', 'lint', 'billing', '--outputStyle=static']);
      expect(lint).toMatch(/Successfully ran target lint for project @engex\/billing/);
      // The scope rule: CI code (AWS SDK, Nx) must never reach a service image.
      const stray = join(work, 'apps/billing/src/stray.ts');
      writeFileSync(stray, "export { findFreePort } from '@engex/ci-lib';\n");
      try {
        const refused = sh(work, 'npx', ['nx', 'lint', 'billing', '--outputStyle=static']);
        expect(refused.status).not.toBe(0);
        expect(refused.stdout + refused.stderr).toContain('A project tagged with "scope:service" can only depend on libs tagged with "scope:service"');
      } finally {
        rmSync(stray);
      }
      const out = ok(work, 'npx', ['nx', 'test', 'billing', '--outputStyle=static']);
      expect(out).toMatch(/Successfully ran target test for project @engex\/billing/);
    },
    10 * MINUTES,
  );

  it(
    '3. nx build billing produces the bundle the shared Dockerfile packs',
    () => {
      ok(work, 'npx', ['nx', 'build', 'billing', '--outputStyle=static']);
      const bundle = join(work, 'apps/billing/dist/main.cjs');
      expect(statSync(bundle).size).toBeGreaterThan(10_000);
      expect(readFileSync(bundle, 'utf8')).toContain('"billing"');
    },
    5 * MINUTES,
  );

  it(
    '4. engex-pipeline generate --all has billing’s image, scan and deploy steps',
    () => {
      ok(work, 'npx', ['nx', 'build', '@engex/pipeline-generator', '--outputStyle=static']);
      const head = git(work, 'rev-parse', 'HEAD').trim();
      const out = ok(work, 'node', ['tools/pipeline-generator/dist/engex-pipeline.cjs', 'generate', '--all', '--format', 'json'], {
        BUILDKITE_BRANCH: 'main',
        BUILDKITE_COMMIT: head,
      });
      pipeline = JSON.parse(out);
      const keys = stepKeys(pipeline);
      expect(keys).toEqual(expect.arrayContaining(['engex-billing:image', 'engex-billing:scan', 'engex-billing:deploy-staging']));
      expect(keys).toEqual(expect.arrayContaining(['engex-halow:image', 'engex-halow:scan', 'engex-halow:deploy-staging']));
      expect(out).toContain('engex/billing');
    },
    5 * MINUTES,
  );

  describeNeeding([SCHEMA], '4b. that pipeline', () => {
    it('is valid against the official schema', () => {
      expect(pipeline, 'step 4 generated no pipeline').toBeDefined();
      const ajv = new Ajv({ strict: false, allErrors: true });
      ajv.addFormat('regex', (text: string) => {
        try {
          return new RegExp(text) instanceof RegExp;
        } catch {
          return false;
        }
      });
      const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA.path, 'utf8')) as object);
      for (const upload of Array.isArray(pipeline) ? pipeline : [pipeline]) {
        expect(validate(upload), JSON.stringify(validate.errors, null, 2)).toBe(true);
      }
    });
  });

  it(
    '5. a change inside apps/billing affects only billing',
    () => {
      git(work, 'add', '-A');
      git(work, 'commit', '-q', '-m', 'add billing');
      const app = join(work, 'apps/billing/src/app.ts');
      writeFileSync(app, `${readFileSync(app, 'utf8')}\n// a change only billing sees\n`);
      git(work, 'commit', '-q', '-am', 'touch billing');
      const affected = ok(work, 'npx', ['nx', 'show', 'projects', '--affected', '--base=HEAD~1', '--head=HEAD', '--json']);
      expect(JSON.parse(affected)).toEqual(['@engex/billing']);
    },
    5 * MINUTES,
  );

  it(
    '6. a change to the shared Dockerfile affects every service, billing included',
    () => {
      appendFileSync(join(work, 'docker/Dockerfile'), '\n# a base image bump\n');
      git(work, 'commit', '-q', '-am', 'touch the Dockerfile');
      const affected = ok(work, 'npx', ['nx', 'show', 'projects', '--affected', '--base=HEAD~1', '--head=HEAD', '--json']);
      expect(JSON.parse(affected)).toEqual(expect.arrayContaining(['@engex/billing', '@engex/halow']));
    },
    5 * MINUTES,
  );
});
