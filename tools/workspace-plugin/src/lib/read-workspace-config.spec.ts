import { writeJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { ConfigError, exitCodeFor } from '@engex/workspace-config';
import { describe, expect, it } from 'vitest';
import { readTreeWorkspaceConfig } from './read-workspace-config.js';

describe('readTreeWorkspaceConfig', () => {
  it('reads and validates the file', () => {
    const tree = createTreeWithEmptyWorkspace();
    writeJson(tree, 'engex.config.json', { $schema: './libs/workspace-config/engex.config.schema.json', registry: { region: 'cn-north-1' } });
    expect(readTreeWorkspaceConfig(tree).registry.region).toBe('cn-north-1');
  });

  it('refuses a workspace without it, naming the file', () => {
    const tree = createTreeWithEmptyWorkspace();
    let error: unknown;
    try {
      readTreeWorkspaceConfig(tree);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(exitCodeFor(error)).toBe(2);
    expect((error as ConfigError).message).toContain('engex.config.json: (root): not found at the workspace root');
  });

  it('reports a bad value with its path', () => {
    const tree = createTreeWithEmptyWorkspace();
    writeJson(tree, 'engex.config.json', { registry: { account: 460210468233 } });
    expect(() => readTreeWorkspaceConfig(tree)).toThrow('engex.config.json: registry.account: expected a string, got 460210468233');
  });
});
