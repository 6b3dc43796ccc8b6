import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './errors.js';
import { DEFAULT_WORKSPACE_CONFIG, WORKSPACE_CONFIG_FILE, parseWorkspaceConfig, type WorkspaceConfig } from './config.js';

/** Reads and validates `<root>/engex.config.json`; an absent file means the defaults. */
export async function readWorkspaceConfig(root: string): Promise<WorkspaceConfig> {
  let text: string;
  try {
    text = await readFile(join(root, WORKSPACE_CONFIG_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_WORKSPACE_CONFIG;
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ file: WORKSPACE_CONFIG_FILE, path: '', message: `is not valid JSON: ${(error as Error).message}` }]);
  }
  return parseWorkspaceConfig(raw, WORKSPACE_CONFIG_FILE);
}
