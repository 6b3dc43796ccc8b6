import { describe, expect, it } from 'vitest';
import { RESERVED_SERVICE_NAMES, SERVICE_NAME_PATTERN, validateServiceName } from './service-name.js';

const EMPTY = { projects: [], roots: [], folderExists: false };

describe('validateServiceName', () => {
  it.each(['billing', 'order-history', 'a', 'v2-api-gateway', 'x1'])('accepts %j', (name) => {
    expect(validateServiceName(name, EMPTY)).toEqual([]);
  });

  it('suggests the kebab-case spelling when there is one', () => {
    expect(validateServiceName('OrderHistory', EMPTY)).toEqual([
      '"OrderHistory" is not kebab-case: use lowercase letters and digits in words joined by single dashes, starting with a letter (did you mean order-history?)',
    ]);
    expect(validateServiceName('!!!', EMPTY)[0]).not.toContain('did you mean');
  });

  it('keeps every reserved name kebab-case, so each is refused for being reserved and not by accident', () => {
    for (const name of RESERVED_SERVICE_NAMES) {
      expect(name).toMatch(SERVICE_NAME_PATTERN);
      expect(validateServiceName(name, EMPTY)).toEqual([expect.stringContaining('is reserved')]);
    }
  });

  it('reports a clash with a project name, a project folder or apps/<name>, once', () => {
    expect(validateServiceName('ledger', { projects: ['@engex/ledger'], roots: ['libs/ledger'], folderExists: false })).toEqual([
      'an Nx project named @engex/ledger already exists; pick another name',
    ]);
    expect(validateServiceName('ledger', { projects: ['ledger'], roots: [], folderExists: false })).toEqual(['an Nx project named ledger already exists; pick another name']);
    expect(validateServiceName('audit', { projects: ['@acme/audit'], roots: ['tools/audit'], folderExists: false })).toEqual([
      'tools/audit already exists and its package would share the name @engex/audit; pick another name',
    ]);
    expect(validateServiceName('halow', { projects: ['@engex/halow'], roots: ['apps/halow'], folderExists: true })).toEqual([
      'apps/halow already exists; pick another name or remove the folder',
    ]);
  });

  it('collects every problem of one name', () => {
    expect(validateServiceName(`A${'b'.repeat(63)}`, EMPTY)).toHaveLength(2);
  });
});
