import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPENDENCY_CACHE_PATH } from '../src/core/steps/common.js';
import { REPO_ROOT } from './schema.js';

/**
 * Lockfile keys of packages npm installs inside a workspace folder instead of the root. npm lists
 * each workspace under its folder (`libs/ci-lib`), and what it installs there under
 * `libs/ci-lib/node_modules/…`.
 */
export function nestedWorkspaceInstalls(lock: unknown): string[] {
  const keys = Object.keys((lock as { packages?: Record<string, unknown> }).packages ?? {});
  const workspaces = keys.filter((k) => k !== '' && !k.startsWith('node_modules/') && !k.includes('/node_modules/'));
  return keys.filter((key) => workspaces.some((w) => key.startsWith(`${w}/node_modules/`)));
}

describe('the dependency cache holds every installed package', () => {
  it('finds nested installs when there are some (the check has teeth)', () => {
    const lock = { packages: { '': {}, 'libs/a': {}, 'libs/a/node_modules/yaml': {}, 'node_modules/x/node_modules/y': {} } };
    expect(nestedWorkspaceInstalls(lock)).toEqual(['libs/a/node_modules/yaml']);
  });

  it(`npm installs nothing inside a workspace folder: the cache plugin saves only ./${DEPENDENCY_CACHE_PATH}`, () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as unknown;
    const nested = nestedWorkspaceInstalls(lock);
    expect(
      nested,
      'A restored cache would lack these, and the guarded install would skip npm ci: make npm hoist them ' +
        '(pin the version the workspaces need in the root package.json devDependencies, as yaml is), then npm install.',
    ).toEqual([]);
  });
});
