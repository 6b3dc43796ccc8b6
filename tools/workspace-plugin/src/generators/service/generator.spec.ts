import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installPackagesTask, logger, readJson, writeJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EcrLocalsSectionNotFoundError, InvalidServiceOptionsError } from '../../lib/errors.js';
import { expectTaskWritesOnce } from '../../../test/task-writes-once.js';
import { serviceGenerator } from './generator.js';
import type { ServiceGeneratorSchema } from './schema.js';

// The install would run npm in the test's virtual workspace root; assert the call instead.
vi.mock('@nx/devkit', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@nx/devkit')>()),
  installPackagesTask: vi.fn(),
}));

let tree: Tree;
let logged: string[];
let setup: Map<string, Buffer | null>;

/** What the generator changed, as `CREATE path` / `UPDATE path` (the setup files are already in the tree). */
function written(): string[] {
  return tree
    .listChanges()
    .filter((c) => !setup.has(c.path) || !setup.get(c.path)?.equals(c.content ?? Buffer.alloc(0)))
    .map((c) => `${setup.has(c.path) ? 'UPDATE' : c.type} ${c.path}`)
    .sort((a, b) => a.split(' ')[1]!.localeCompare(b.split(' ')[1]!));
}

/** Arranges a file as if it had been there before the generator ran. */
function given(path: string, content: unknown): void {
  if (typeof content === 'string') tree.write(path, content);
  else writeJson(tree, path, content as object);
  setup.set(path, tree.read(path));
}

/** A workspace shaped like ours: npm workspaces, a root tsconfig with references, halow. */
function workspace(): Tree {
  const t = createTreeWithEmptyWorkspace({ formatter: 'none' });
  writeJson(t, 'package.json', { name: '@engex/source', private: true, workspaces: ['apps/*', 'libs/*', 'tools/*'] });
  writeJson(t, 'tsconfig.json', { files: [], references: [{ path: './apps/halow' }, { path: './libs/service-kit' }] });
  writeJson(t, 'engex.config.json', { source: 'https://github.com/highspot/halow' });
  writeJson(t, 'apps/halow/package.json', { name: '@engex/halow', nx: { tags: ['engex:service'] } });
  writeJson(t, 'libs/service-kit/package.json', { name: '@engex/service-kit' });
  setup = new Map(t.listChanges().map((c) => [c.path, c.content]));
  return t;
}

beforeEach(() => {
  tree = workspace();
  logged = [];
  vi.spyOn(logger, 'info').mockImplementation((message: unknown) => void logged.push(String(message)));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.mocked(installPackagesTask).mockClear();
});

const generate = (options: Partial<ServiceGeneratorSchema> & { name: string }) => serviceGenerator(tree, { skipInstall: true, ...options });

/** Runs the generator expecting a refusal; returns the message and checks nothing was written. */
async function refusal(options: Partial<ServiceGeneratorSchema> & { name: string }): Promise<string> {
  const error = await generate(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidServiceOptionsError);
  expect(written()).toEqual([]);
  return (error as Error).message;
}

describe('service generator', () => {
  it('creates apps/<name> with halow’s files and registers it', async () => {
    await generate({ name: 'billing' });
    expect(written()).toMatchInlineSnapshot(`
      [
        "CREATE apps/billing/package.json",
        "CREATE apps/billing/README.md",
        "CREATE apps/billing/src/app.spec.ts",
        "CREATE apps/billing/src/app.ts",
        "CREATE apps/billing/src/index.ts",
        "CREATE apps/billing/src/main.spec.ts",
        "CREATE apps/billing/src/main.ts",
        "CREATE apps/billing/tsconfig.json",
        "CREATE apps/billing/tsconfig.lib.json",
        "CREATE apps/billing/tsconfig.spec.json",
        "CREATE apps/billing/vitest.config.ts",
        "UPDATE tsconfig.json",
      ]
    `);
    expect(readJson(tree, 'tsconfig.json').references).toEqual([{ path: './apps/halow' }, { path: './libs/service-kit' }, { path: './apps/billing' }]);
  });

  it('writes the Nx project: service and module-boundary tags, engex metadata and the esbuild bundle target', async () => {
    await generate({ name: 'billing', description: 'Invoices and "payments"', port: 8080, ownerTeam: 'payments' });
    expect(tree.read('apps/billing/package.json', 'utf8')).toMatchInlineSnapshot(`
      "{
        "name": "@engex/billing",
        "version": "0.0.0",
        "private": true,
        "type": "module",
        "exports": {
          ".": {
            "@engex/source": "./src/index.ts",
            "types": "./out-tsc/lib/index.d.ts",
            "default": "./src/index.ts"
          },
          "./package.json": "./package.json"
        },
        "nx": {
          "tags": [
            "engex:service",
            "type:app",
            "scope:service"
          ],
          "metadata": {
            "engex": {
              "description": "Invoices and \\"payments\\"",
              "ownerTeam": "payments",
              "port": 8080
            }
          },
          "targets": {
            "build": {
              "executor": "@nx/esbuild:esbuild",
              "inputs": [
                "production",
                "^production",
                "image"
              ],
              "outputs": [
                "{options.outputPath}"
              ],
              "options": {
                "main": "apps/billing/src/main.ts",
                "outputPath": "apps/billing/dist",
                "outputFileName": "main.cjs",
                "format": [
                  "cjs"
                ],
                "platform": "node",
                "bundle": true,
                "thirdParty": true,
                "generatePackageJson": false,
                "skipTypeCheck": true,
                "declaration": false,
                "metafile": true,
                "tsConfig": "apps/billing/tsconfig.lib.json",
                "esbuildOptions": {
                  "conditions": [
                    "@engex/source"
                  ],
                  "target": "node20",
                  "sourcemap": true,
                  "legalComments": "none"
                }
              }
            },
            "test": {
              "dependsOn": [
                "build"
              ]
            }
          }
        },
        "dependencies": {
          "@engex/service-kit": "*"
        }
      }
      "
    `);
    expect(readJson(tree, 'apps/billing/package.json').nx.metadata.engex).toEqual({
      description: 'Invoices and "payments"',
      ownerTeam: 'payments',
      port: 8080,
    });
  });

  it('writes an entry that only wires the kit to the process', async () => {
    await generate({ name: 'billing' });
    expect(tree.read('apps/billing/src/main.ts', 'utf8')).toMatchInlineSnapshot(`
      "import { describeStartupFailure, nodeProcessProbe, runService } from '@engex/service-kit';
      import { service } from './app.js';

      // The executable (bundled to dist/main.cjs): the only file that touches \`process\`.
      runService(service, {
        env: process.env,
        signals: process,
        probe: nodeProcessProbe(process, Date.now()),
      }).then(
        (exitCode) => process.exit(exitCode),
        (error: unknown) => {
          const failure = describeStartupFailure(error);
          process.stderr.write(\`\${failure.message}\\n\`);
          process.exit(failure.exitCode);
        },
      );
      "
    `);
  });

  it('writes the example routes with the service’s name and default port', async () => {
    await generate({ name: 'order-history', port: 4100 });
    // The rest of the file is the template, which halow-drift.spec.ts keeps equal to halow's.
    const app = tree.read('apps/order-history/src/app.ts', 'utf8');
    expect(app).toContain("/** order-history's own API; the shared routes");
    expect(app).toContain("export const service = defineService({ name: 'order-history', defaultPort: 4100, routes });");
    expect(app).not.toContain('halow');
    expect(tree.read('apps/order-history/vitest.config.ts', 'utf8')).toContain("projectTestConfig('@engex/order-history')");
    expect(tree.read('apps/order-history/src/main.spec.ts', 'utf8')).toContain("project: '@engex/order-history'");
  });

  it('writes a README: what the service is, how to run it, its routes, and the root README', async () => {
    await generate({ name: 'order-history', port: 4100, description: 'Order history API', ownerTeam: 'orders' });
    const readme = tree.read('apps/order-history/README.md', 'utf8')!;
    expect(readme.split('\n').slice(0, 3)).toEqual(['# order-history', '', 'Order history API (owner: orders), on Fastify 5 and']);
    expect(readme).toContain('npx nx run @engex/order-history:build    # → apps/order-history/dist/main.cjs');
    expect(readme).toContain('PORT=4100 node apps/order-history/dist/main.cjs');
    for (const route of ['`GET /hello?name=<name>`', '`POST /hello`', '`GET /healthz`', '`GET /readyz`', '`GET /version`', '`GET /metrics`']) expect(readme).toContain(route);
    expect(readme).toContain('[root README](../../README.md)');
  });

  it('defaults to "<name> HTTP service", port 3000 and team engex', async () => {
    await generate({ name: 'billing' });
    expect(readJson(tree, 'apps/billing/package.json').nx.metadata.engex).toEqual({
      description: 'billing HTTP service',
      ownerTeam: 'engex',
      port: 3000,
    });
  });

  it('prints the exact Terraform entry for the engex ECR section', async () => {
    given('engex.config.json', { source: 'https://github.com/highspot/engex-services' });
    await generate({ name: 'billing' });
    expect(logged.join('\n')).toMatchInlineSnapshot(`
      "
      The ECR repository engex/billing is declared in the Terraform repo. Add this line to the
      engex section of terraform/aws_sharedart/us-east-1/ecr-private/service-ecr-locals.tf
      (or run again with --terraform-locals <path to that file> to have it inserted):

          billing = { mutable = "IMMUTABLE", source = "https://github.com/highspot/engex-services" }
      "
    `);
  });

  it('adds apps/* to the npm workspaces of a workspace that lacks it, and a tsconfig reference only once', async () => {
    given('package.json', { name: '@engex/source', workspaces: ['libs/*'] });
    given('tsconfig.json', { references: [{ path: './apps/billing' }] });
    await generate({ name: 'billing' });
    expect(readJson(tree, 'package.json').workspaces).toEqual(['libs/*', 'apps/*']);
    expect(readJson(tree, 'tsconfig.json').references).toEqual([{ path: './apps/billing' }]);
  });

  it('returns a task that runs npm install (linking the new package) unless --skip-install', async () => {
    await (
      await generate({ name: 'billing', skipInstall: false })
    )();
    expect(installPackagesTask).toHaveBeenCalledExactlyOnceWith(tree, true);
    vi.mocked(installPackagesTask).mockClear();
    tree = workspace();
    await (
      await generate({ name: 'billing' })
    )();
    expect(installPackagesTask).not.toHaveBeenCalled();
  });
});

describe('service generator: refused options write nothing', () => {
  it.each([
    ['Billing', /"Billing" is not kebab-case.*\(did you mean billing\?\)/],
    ['billing_svc', /not kebab-case.*did you mean billing-svc/],
    ['order--history', /not kebab-case/],
    ['-billing', /not kebab-case/],
    ['billing-', /not kebab-case/],
    ['1billing', /not kebab-case/],
    ['bill ing', /not kebab-case/],
    ['node_modules', /not kebab-case/],
    ['billing/v2', /not kebab-case/],
    ['', /--name: is required/],
    ['a'.repeat(64), /64 characters long; at most 63/],
  ])('refuses the name %j', async (name, message) => {
    expect(await refusal({ name })).toMatch(message);
  });

  it.each(['ci-lib', 'pipeline-generator', 'workspace-plugin', 'service-kit', 'e2e', 'dist', 'app', 'apps', 'libs', 'tools', 'test', 'api', 'source'])(
    'refuses the reserved name %j',
    async (name) => {
      expect(await refusal({ name })).toContain(`"${name}" is reserved`);
    },
  );

  it('refuses an existing apps/<name>, project or not', async () => {
    expect(await refusal({ name: 'halow' })).toContain('--name: apps/halow already exists');
    given('apps/stray/notes.txt', 'not a project');
    expect(await refusal({ name: 'stray' })).toContain('apps/stray already exists');
  });

  it('refuses a name whose package would clash with another project', async () => {
    given('libs/ledger/package.json', { name: '@engex/ledger' });
    expect(await refusal({ name: 'ledger' })).toContain('an Nx project named @engex/ledger already exists');
    given('tools/audit/package.json', { name: '@acme/audit-tool' });
    expect(await refusal({ name: 'audit' })).toContain('tools/audit already exists and its package would share the name @engex/audit');
  });

  it('refuses a name that makes an invalid ECR repository with the configured prefix', async () => {
    given('engex.config.json', { registry: { repoPrefix: `${'a'.repeat(250)}/` } });
    expect(await refusal({ name: 'billing' })).toMatch(/--name: ECR repository "a{250}\/billing": must be 2-256 characters, got 258/);
  });

  it.each([
    [{ port: 0 }, '--port: expected an integer from 1 to 65535, got 0'],
    [{ port: 65536 }, '--port: expected an integer from 1 to 65535, got 65536'],
    [{ port: 80.5 }, '--port: expected an integer from 1 to 65535, got 80.5'],
    [{ description: 'two\nlines' }, '--description: expected one line of text, got "two\\nlines"'],
    [{ description: '' }, '--description: expected one line of text, got ""'],
    [{ ownerTeam: 'Payments Team' }, '--owner-team: expected a kebab-case team name, got "Payments Team"'],
  ])('refuses %j', async (options, message) => {
    expect(await refusal({ name: 'billing', ...options })).toContain(message);
  });

  it('reports every problem at once', async () => {
    expect(await refusal({ name: 'Billing', port: 0, ownerTeam: 'X' })).toMatchInlineSnapshot(`
      "Cannot generate the service (3 problems); nothing was written:
        --name: "Billing" is not kebab-case: use lowercase letters and digits in words joined by single dashes, starting with a letter (did you mean billing?)
        --port: expected an integer from 1 to 65535, got 0
        --owner-team: expected a kebab-case team name, got "X""
    `);
  });
});

describe('service generator --terraform-locals', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'engex-tf-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const LOCALS = 'locals {\n  engex = {\n    halow = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }\n  }\n}\n';

  it('inserts the entry from the returned task (so --dry-run never writes it), once', async () => {
    const file = join(dir, 'service-ecr-locals.tf');
    writeFileSync(file, LOCALS);
    const once = await expectTaskWritesOnce(file, async (attempt) => {
      if (attempt === 2) tree = workspace();
      return generate({ name: 'billing', terraformLocals: file });
    });
    expect(once).toMatchInlineSnapshot(`
      "locals {
        engex = {
          billing = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }
          halow   = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }
        }
      }
      "
    `);
    expect(logged.at(-2)).toContain('already in the engex section');
  });

  it('resolves a relative path against the current directory', async () => {
    const file = join(dir, 'service-ecr-locals.tf');
    writeFileSync(file, LOCALS);
    vi.spyOn(process, 'cwd').mockReturnValue(dir);
    await (
      await generate({ name: 'billing', terraformLocals: 'service-ecr-locals.tf' })
    )();
    expect(readFileSync(file, 'utf8')).toContain('billing = {');
  });

  it('writes nothing, in the tree or the file, when the engex section is missing', async () => {
    const file = join(dir, 'other.tf');
    writeFileSync(file, 'locals {\n  data = {\n  }\n}\n');
    await expect(generate({ name: 'billing', terraformLocals: file })).rejects.toThrowError(EcrLocalsSectionNotFoundError);
    expect(written()).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe('locals {\n  data = {\n  }\n}\n');
  });

  it('names the option when the file cannot be read', async () => {
    const message = await refusal({ name: 'billing', terraformLocals: join(dir, 'missing.tf') });
    expect(message).toContain('--terraform-locals: cannot read');
    expect(message).toContain('missing.tf (ENOENT)');
  });
});
