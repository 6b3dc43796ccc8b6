import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configFailure } from '../../test/config-failure.js';
import { readWorkspaceProjects } from './read-projects.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'engex-projects-'));
  await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'ws', workspaces: ['apps/*', 'libs/*'] }));
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function manifest(dir: string, text: string): Promise<void> {
  await mkdir(join(root, dir), { recursive: true });
  await writeFile(join(root, dir, 'package.json'), text);
}

const failure = async () => (await configFailure(readWorkspaceProjects(root))).message;

describe('readWorkspaceProjects', () => {
  it('reads every workspace package', async () => {
    await manifest('apps/halow', JSON.stringify({ name: '@engex/halow', nx: { tags: ['engex:service'] } }));
    await manifest('libs/kit', JSON.stringify({ name: '@engex/kit' }));
    expect(await readWorkspaceProjects(root)).toEqual([
      { name: '@engex/halow', root: 'apps/halow', tags: ['engex:service'] },
      { name: '@engex/kit', root: 'libs/kit', tags: [] },
    ]);
  });

  it('a package.json whose name is not a string is an error with its path, not a skipped project', async () => {
    await manifest('apps/halow', JSON.stringify({ name: 123, nx: { tags: ['engex:service'] } }));
    expect(await failure()).toContain('apps/halow/package.json: name: expected the package name as a non-empty string, got 123');
  });

  it('names every bad file in one run: invalid JSON and a string tag', async () => {
    await manifest('apps/halow', JSON.stringify({ name: '@engex/halow', nx: { tags: 'engex:service' } }));
    await manifest('libs/kit', '{ "name": "@engex/kit", ');
    const message = await failure();
    expect(message).toContain('apps/halow/package.json: nx.tags: expected an array of strings, got "engex:service"');
    expect(message).toMatch(/libs\/kit\/package\.json: \(root\): cannot be read as JSON/);
  });
});
