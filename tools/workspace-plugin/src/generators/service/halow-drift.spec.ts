import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFiles } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { findWorkspaceRoot } from '@engex/workspace-config';
import { describe, expect, it } from 'vitest';
import { SERVICE_TEMPLATES, templateVariables } from './generator.js';

/**
 * halow is not generated, so this keeps it and the template from drifting apart: rendered with
 * halow's own name and metadata, the template must give halow's files exactly. Only halow's API
 * (its routes and their tests) may differ; new services start from a copy of it.
 */
const SERVICE_OWN_FILES = ['src/app.ts', 'src/app.spec.ts'];

const ROOT = findWorkspaceRoot(dirname(fileURLToPath(import.meta.url)));
const HALOW = 'apps/halow';

/** halow's source files: tracked or new, never build output (dist, out-tsc are git-ignored). */
function halowFiles(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', HALOW], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && existsSync(join(ROOT, f)))
    .map((f) => f.slice(HALOW.length + 1))
    .sort();
}

function renderForHalow(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, HALOW, 'package.json'), 'utf8')) as {
    name: string;
    nx: { metadata: { engex: { description: string; ownerTeam: string; port: number } } };
  };
  const tree = createTreeWithEmptyWorkspace();
  generateFiles(tree, SERVICE_TEMPLATES, HALOW, templateVariables({ name: 'halow', projectName: pkg.name, ...pkg.nx.metadata.engex }));
  return new Map(
    tree
      .listChanges()
      .filter((c) => c.path.startsWith(`${HALOW}/`))
      .map((c) => [c.path.slice(HALOW.length + 1), c.content!.toString('utf8')]),
  );
}

describe('halow and the service template', () => {
  const rendered = renderForHalow();

  it('have the same files', () => {
    expect([...rendered.keys()].sort()).toEqual(halowFiles());
  });

  it('agree on everything but halow’s own routes: package.json (tags, metadata, Nx targets), tsconfigs, entry, tests', () => {
    for (const [file, text] of rendered) {
      if (SERVICE_OWN_FILES.includes(file)) continue;
      expect(
        text,
        `${HALOW}/${file} differs from the service template. Make the same change in ` +
          `tools/workspace-plugin/src/generators/service/files/${file}__tmpl__ so new services get it too.`,
      ).toBe(readFileSync(join(ROOT, HALOW, file), 'utf8'));
    }
  });

  it('write JUnit where nx.json says the test target outputs it, so a cache hit restores it for Test Engine', async () => {
    const nxJson = JSON.parse(readFileSync(join(ROOT, 'nx.json'), 'utf8')) as { targetDefaults: { test: { outputs: string[] } } };
    const config = ((await import(join(ROOT, HALOW, 'vitest.config.ts'))) as { default: { test: { reporters: unknown; outputFile: { junit: string } } } }).default;
    expect(config.test.reporters).toEqual(['default', 'junit']);
    expect(nxJson.targetDefaults.test.outputs).toContain(`{projectRoot}/${config.test.outputFile.junit}`);
    // The template renders the same file (checked above): a generated service uses the same shared config.
    expect(rendered.get('vitest.config.ts')).toContain("projectTestConfig('@engex/halow')");
  });

  it('define the service with the name and port of its package.json metadata', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, HALOW, 'package.json'), 'utf8'));
    const app = readFileSync(join(ROOT, HALOW, 'src/app.ts'), 'utf8');
    expect(app).toContain(`defineService({ name: 'halow', defaultPort: ${pkg.nx.metadata.engex.port}, routes })`);
    expect(rendered.get('src/app.ts')).toContain(`defineService({ name: 'halow', defaultPort: ${pkg.nx.metadata.engex.port}, routes })`);
  });
});
