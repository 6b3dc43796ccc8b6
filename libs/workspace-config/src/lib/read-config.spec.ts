import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_WORKSPACE_CONFIG } from './config.js';
import { configFailure } from '../../test/config-failure.js';
import { readWorkspaceConfig } from './read-config.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'engex-config-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const failure = () => configFailure(readWorkspaceConfig(root));

describe('readWorkspaceConfig', () => {
  it('reads the file, ignoring its $schema reference', async () => {
    await writeFile(join(root, 'engex.config.json'), JSON.stringify({ $schema: './libs/workspace-config/engex.config.schema.json', vendor: 'Acme' }));
    expect(await readWorkspaceConfig(root)).toEqual({ ...DEFAULT_WORKSPACE_CONFIG, vendor: 'Acme' });
  });

  it('is an error naming the file when it is missing (no silent production defaults)', async () => {
    const error = await failure();
    expect(error.issues).toEqual([{ file: 'engex.config.json', path: '', message: `not found in ${root}` }]);
    expect(error.message).toContain('Every engex workspace has engex.config.json at its root');
  });

  it('is a clean config error when the path is a directory', async () => {
    await mkdir(join(root, 'engex.config.json'));
    const error = await failure();
    expect(error.message).toMatch(/^Invalid engex configuration \(1 problem\):\n {2}engex\.config\.json: \(root\): is a directory, expected a JSON file\n/);
  });

  it('names the file of invalid JSON', async () => {
    await writeFile(join(root, 'engex.config.json'), '{ "vendor": ');
    expect((await failure()).issues[0]).toMatchObject({ file: 'engex.config.json', message: expect.stringMatching(/^is not valid JSON: /) });
  });

  it('never coerces a value to the expected type', async () => {
    await writeFile(join(root, 'engex.config.json'), JSON.stringify({ vendor: 123, tags: { short: 'true' }, registry: { account: 460210468233 } }));
    expect((await failure()).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'registry.account: expected a string, got 460210468233',
      'vendor: expected a string, got 123',
      'tags.short: expected true or false, got "true"',
    ]);
  });
});
