import { describe, expect, it } from 'vitest';
import { isValidKey, keyPart, projectSlugs } from './keys.js';

describe('projectSlugs', () => {
  it('turns scoped names into key-safe slugs', () => {
    expect(Object.fromEntries(projectSlugs(['@engex/halow', 'ci-lib', 'a.b_c']))).toEqual({ '@engex/halow': 'engex-halow', 'ci-lib': 'ci-lib', 'a.b_c': 'a.b_c' });
  });

  it('keeps colliding slugs apart with a stable hash of the full name', () => {
    const slugs = projectSlugs(['@a/b', 'a-b', '@a/b$']);
    expect(new Set(slugs.values()).size).toBe(3);
    expect(slugs.get('@a/b')).toMatch(/^a-b-[0-9a-f]{8}$/);
    expect(projectSlugs(['@a/b', 'a-b']).get('@a/b')).toBe(slugs.get('@a/b'));
  });

  it('never takes a key the pipeline reserves for itself', () => {
    expect(projectSlugs(['engex-plan', '@engex/plan'], ['engex-plan']).get('engex-plan')).toMatch(/^engex-plan-[0-9a-f]{8}$/);
  });

  it('shortens long names, and never yields something that looks like a UUID', () => {
    const long = `@scope/${'x'.repeat(200)}`;
    const uuid = '123e4567-e89b-12d3-a456-426614174000';
    const slugs = projectSlugs([long, uuid, '$(id)']);
    for (const slug of slugs.values()) {
      expect(isValidKey(`${slug}:typecheck`)).toBe(true);
      expect(slug.length).toBeLessThanOrEqual(60);
    }
    expect(slugs.get(uuid)).not.toBe(uuid);
    expect(slugs.get('$(id)')).toBe('id');
  });
});

describe('keyPart', () => {
  it('keeps target names readable and bounded', () => {
    expect(keyPart('test:e2e')).toBe('test:e2e');
    expect(keyPart('build docker')).toBe('build-docker');
    expect(keyPart('x'.repeat(50)).length).toBeLessThanOrEqual(30);
  });
});

describe('isValidKey', () => {
  it('follows the schema: characters, length, no UUID', () => {
    expect(isValidKey('engex-halow:build')).toBe(true);
    expect(isValidKey('a'.repeat(101))).toBe(false);
    expect(isValidKey('a b')).toBe(false);
    expect(isValidKey('123e4567-e89b-12d3-a456-426614174000')).toBe(false);
  });
});
