import { readJson, type Tree } from '@nx/devkit';
import { ConfigError, WORKSPACE_CONFIG_FILE, parseWorkspaceConfig, type WorkspaceConfig } from '@engex/workspace-config';

/**
 * engex.config.json from the generator's tree. Required, as for engex-ci and engex-pipeline:
 * defaulting would generate a service for the production registry in a workspace that has none.
 */
export function readTreeWorkspaceConfig(tree: Tree): WorkspaceConfig {
  const missing = (message: string): ConfigError =>
    new ConfigError([{ file: WORKSPACE_CONFIG_FILE, path: '', message }], {
      hint: `Every engex workspace has ${WORKSPACE_CONFIG_FILE} at its root (next to nx.json); see README.md#configuration.`,
    });
  if (!tree.exists(WORKSPACE_CONFIG_FILE)) throw missing('not found at the workspace root');
  if (!tree.isFile(WORKSPACE_CONFIG_FILE)) throw missing('is a directory, expected a JSON file');
  return parseWorkspaceConfig(readJson(tree, WORKSPACE_CONFIG_FILE), WORKSPACE_CONFIG_FILE);
}
