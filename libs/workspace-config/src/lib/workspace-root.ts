import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';

/** Marks the workspace root: the nearest directory with this file is it. */
export const WORKSPACE_MARKER = 'nx.json';

/**
 * The nearest directory at or above `start` that holds nx.json. `hint` says how to fix a miss in
 * the caller's words (e.g. which flag to pass).
 */
export function findWorkspaceRoot(start: string, hint = 'Run inside the workspace or pass --workspace <dir>.'): string {
  let dir = resolve(start);
  for (;;) {
    const marker = join(dir, WORKSPACE_MARKER);
    if (existsSync(marker) && statSync(marker).isFile()) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new UsageError(`No ${WORKSPACE_MARKER} in ${start} or any parent.`, { hint });
    dir = parent;
  }
}
