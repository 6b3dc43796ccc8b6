import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderShellCommand } from '../src/core/shell.js';
import { dependencyCachePlugin } from '../src/core/steps/common.js';
import { describeNeeding } from '@engex/ci-lib/testing';
import { REPO_ROOT, SCHEMA, schemaErrors } from './schema.js';

/** The static bootstrap installs the way generated jobs do, or every build pays one more npm ci. */
describe('.buildkite/pipeline.yml', () => {
  const bootstrap = parse(readFileSync(join(REPO_ROOT, '.buildkite', 'pipeline.yml'), 'utf8')) as { steps: Record<string, unknown>[] };
  const step = bootstrap.steps[0] as { plugins: Record<string, unknown>[]; commands: string[] };

  it('restores node_modules through the same pinned cache plugin and guarded install as generated jobs', () => {
    const cache = dependencyCachePlugin();
    expect(step.plugins[0]).toEqual({ [cache.ref]: cache.config });
    expect(step.commands[0]).toBe(renderShellCommand({ kind: 'install' }));
  });

  describeNeeding([SCHEMA], "Buildkite's schema", () => {
    it('accepts it', () => {
      expect(schemaErrors(bootstrap)).toEqual([]);
    });
  });
});
