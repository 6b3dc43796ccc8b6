import { describe, expect, it } from 'vitest';
import { commandStep } from '../../../test/fixtures.js';
import type { GroupStep } from '../pipeline.js';
import { orderGroups } from './assemble.js';

const group = (key: string, dependsOn: string[] = []): GroupStep => ({ type: 'group', key, label: key, project: key, steps: [commandStep(`${key}:build`, dependsOn)] });

describe('orderGroups', () => {
  it('puts the groups a group depends on first, and keeps the given order otherwise', () => {
    expect(orderGroups([group('app', ['lib:build']), group('other'), group('lib')]).map((g) => g.key)).toEqual(['other', 'lib', 'app']);
  });

  it('a cycle between groups still places every group once', () => {
    expect(orderGroups([group('a', ['b:build']), group('b', ['a:build'])]).map((g) => g.key)).toEqual(['a', 'b']);
  });
});
