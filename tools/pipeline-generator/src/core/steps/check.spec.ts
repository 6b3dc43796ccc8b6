import { describe, expect, it } from 'vitest';
import type { WorkspaceProject } from '../affected.js';
import { junitReports } from './check.js';

const project = (outputs: string[] | undefined): WorkspaceProject => ({
  name: '@acme/api',
  root: 'apps/api',
  tags: [],
  metadata: {},
  targets: { test: { executor: 'nx:run-commands', command: 'vitest run', ...(outputs ? { outputs } : {}) }, lint: { executor: 'nx:run-commands' } },
});

describe('junitReports', () => {
  it('takes the JUnit files among the target outputs, checkout-relative', () => {
    const outputs = ['{workspaceRoot}/coverage/{projectRoot}', '{projectRoot}/reports/junit.xml', '{workspaceRoot}/reports/{projectRoot}/junit-e2e.xml', '{projectRoot}/dist'];
    expect(junitReports(project(outputs), 'test')).toEqual(['apps/api/reports/junit.xml', 'reports/apps/api/junit-e2e.xml']);
  });

  it('finds none without a declared JUnit output, or for a path Nx resolves from options', () => {
    expect(junitReports(project(undefined), 'test')).toEqual([]);
    expect(junitReports(project(['{options.outputFile}/junit.xml', '{projectRoot}/junit.json']), 'test')).toEqual([]);
    expect(junitReports(project(['{projectRoot}/reports/junit.xml']), 'lint')).toEqual([]);
    expect(junitReports(project(['{projectRoot}/reports/junit.xml']), 'missing')).toEqual([]);
  });
});
