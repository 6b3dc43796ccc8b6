import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WORKSPACE_CONFIG_FILE, parseWorkspaceConfig, type WorkspaceConfig } from './config.js';
import { ConfigError } from './errors.js';

/**
 * Reads and validates `<root>/engex.config.json`. The file is required: silently falling back to
 * the production defaults would point a fork or a misplaced checkout at the real registry.
 */
export async function readWorkspaceConfig(root: string): Promise<WorkspaceConfig> {
  const problem = (message: string): ConfigError =>
    new ConfigError([{ file: WORKSPACE_CONFIG_FILE, path: '', message }], {
      hint: `Every engex workspace has ${WORKSPACE_CONFIG_FILE} at its root (next to nx.json); see README.md#configuration.`,
    });
  let text: string;
  try {
    text = await readFile(join(root, WORKSPACE_CONFIG_FILE), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw problem(`not found in ${root}`);
    if (code === 'EISDIR') throw problem('is a directory, expected a JSON file');
    throw problem(`cannot be read (${code ?? (error as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ file: WORKSPACE_CONFIG_FILE, path: '', message: `is not valid JSON: ${(error as Error).message}` }]);
  }
  return parseWorkspaceConfig(raw, WORKSPACE_CONFIG_FILE);
}
