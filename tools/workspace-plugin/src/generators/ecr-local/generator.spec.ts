import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logger, writeJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EcrLocalsSectionNotFoundError, InvalidServiceOptionsError } from '../../lib/errors.js';
import { expectTaskWritesOnce } from '../../../test/task-writes-once.js';
import { ecrLocalGenerator } from './generator.js';

const LOCALS = `locals {
  engex = {
    alpha = { mutable = "IMMUTABLE", source = "https://github.com/highspot/alpha" }
  }
}
`;

let tree: Tree;
let dir: string;
let file: string;
let logged: string[];

function service(name: string, engex: Record<string, unknown> = {}, tags = ['engex:service']): void {
  writeJson(tree, `apps/${name}/package.json`, { name: `@engex/${name}`, nx: { tags, metadata: { engex } } });
}

beforeEach(() => {
  tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  writeJson(tree, 'package.json', { name: '@engex/source', workspaces: ['apps/*'] });
  writeJson(tree, 'engex.config.json', { source: 'https://github.com/highspot/halow' });
  dir = mkdtempSync(join(tmpdir(), 'engex-ecr-local-'));
  file = join(dir, 'service-ecr-locals.tf');
  writeFileSync(file, LOCALS);
  logged = [];
  vi.spyOn(logger, 'info').mockImplementation((message: unknown) => void logged.push(String(message)));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('ecr-local generator', () => {
  it('declares an existing service from the returned task, and a second run changes nothing', async () => {
    service('halow');
    const once = await expectTaskWritesOnce(file, () => ecrLocalGenerator(tree, { name: 'halow', terraformLocals: file }));
    // The one new entry, after alpha (sorted), and nothing else changed.
    expect(once).toBe(LOCALS.replace('\n  }\n}', '\n    halow = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }\n  }\n}'));
    expect(logged.at(-1)).toContain('ECR repository engex/halow: already in the engex section');
  });

  it('uses the service’s own source override', async () => {
    service('billing', { source: 'https://github.com/highspot/billing' });
    await (
      await ecrLocalGenerator(tree, { name: 'billing', terraformLocals: file })
    )();
    expect(readFileSync(file, 'utf8')).toContain('billing = { mutable = "IMMUTABLE", source = "https://github.com/highspot/billing" }');
  });

  it.each([
    ['an unknown name', () => undefined, 'no engex service "billing"'],
    ['a project that is not a service', () => service('billing', {}, []), 'no engex service "billing"'],
    [
      'a service with its own repository',
      () => service('billing', { repository: 'engex/billing/payments' }),
      'pushes to engex/billing/payments (nx.metadata.engex.repository), not engex/billing',
    ],
  ])('refuses %s and writes nothing', async (_case, arrange, message) => {
    arrange();
    await expect(ecrLocalGenerator(tree, { name: 'billing', terraformLocals: file })).rejects.toThrowError(message);
    expect(readFileSync(file, 'utf8')).toBe(LOCALS);
  });

  it('requires --terraform-locals and a file with an engex section', async () => {
    service('billing');
    await expect(ecrLocalGenerator(tree, { name: 'billing', terraformLocals: '' })).rejects.toThrowError(InvalidServiceOptionsError);
    writeFileSync(file, 'locals {\n}\n');
    await expect(ecrLocalGenerator(tree, { name: 'billing', terraformLocals: file })).rejects.toThrowError(EcrLocalsSectionNotFoundError);
    expect(readFileSync(file, 'utf8')).toBe('locals {\n}\n');
  });
});
