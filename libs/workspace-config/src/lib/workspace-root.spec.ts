import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, UsageError, exitCodeFor } from './errors.js';
import { findWorkspaceRoot } from './workspace-root.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engex-root-'));
  await mkdir(join(dir, 'ws', 'apps', 'a', 'src'), { recursive: true });
  await writeFile(join(dir, 'ws', 'nx.json'), '{}');
  // A directory named nx.json is not a workspace marker.
  await mkdir(join(dir, 'decoy', 'nx.json'), { recursive: true });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('findWorkspaceRoot', () => {
  it('walks up to the nearest nx.json', () => {
    expect(findWorkspaceRoot(join(dir, 'ws', 'apps', 'a', 'src'))).toBe(join(dir, 'ws'));
    expect(findWorkspaceRoot(join(dir, 'ws'))).toBe(join(dir, 'ws'));
  });

  it("is a usage error with the caller's hint when there is none", () => {
    let error: unknown;
    try {
      findWorkspaceRoot(join(dir, 'decoy'), 'Run `engex-pipeline run --local` inside the workspace.');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(exitCodeFor(error)).toBe(EXIT_CODES.usage);
    expect((error as UsageError).message).toBe(`No nx.json in ${join(dir, 'decoy')} or any parent.\nRun \`engex-pipeline run --local\` inside the workspace.`);
    expect((error as UsageError).hint).toBe('Run `engex-pipeline run --local` inside the workspace.');
  });
});
