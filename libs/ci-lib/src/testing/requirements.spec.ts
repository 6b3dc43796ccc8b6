import { afterEach, describe, expect, it, vi } from 'vitest';
import { requiredDependencies, requirement, usable } from './requirements.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('requirement', () => {
  it('reads ENGEX_REQUIRE as a comma list, blanks ignored', () => {
    expect([...requiredDependencies({ ENGEX_REQUIRE: ' docker, ,kubectl' })]).toEqual(['docker', 'kubectl']);
    expect(requiredDependencies({}).size).toBe(0);
  });

  it('a present part is usable and carries no reason', () => {
    vi.stubEnv('ENGEX_REQUIRE', 'docker');
    const r = requirement('docker', true, 'docker engine unreachable');
    expect(r).toEqual({ name: 'docker', available: true, required: true, reason: '' });
    expect(usable(r)).toBe(true);
  });

  it('a missing part nobody required is skipped, with its reason', () => {
    vi.stubEnv('ENGEX_REQUIRE', 'docker');
    const r = requirement('kubectl', false, 'kubectl not found');
    expect(r).toMatchObject({ available: false, required: false, reason: 'kubectl not found' });
    expect(usable(r)).toBe(false);
  });

  it('a missing part ENGEX_REQUIRE names fails, naming the part and why', () => {
    vi.stubEnv('ENGEX_REQUIRE', 'shared,kubectl');
    const r = requirement('kubectl', false, 'kubectl not found');
    expect(() => usable(r)).toThrow('ENGEX_REQUIRE includes kubectl: kubectl not found');
  });
});
