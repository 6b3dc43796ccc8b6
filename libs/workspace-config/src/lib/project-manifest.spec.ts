import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKSPACE_CONFIG } from './config.js';
import { ConfigError } from './errors.js';
import { validateProjectManifest, validateWorkspaceProjects } from './project-manifest.js';
import { Issues } from './validate.js';

const check = (raw: unknown): { project: unknown; lines: string[] } => {
  const issues = new Issues('apps/halow/package.json');
  const project = validateProjectManifest(raw, 'apps/halow', issues);
  return { project, lines: issues.list.map((i) => `${i.file}: ${i.path}: ${i.message}`) };
};

const failureOf = (fn: () => void): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
};

describe('validateProjectManifest', () => {
  it('reads name, tags and metadata of a well-formed manifest', () => {
    expect(check({ name: '@engex/halow', nx: { tags: ['engex:service'], metadata: { engex: { port: 8080 } } } })).toEqual({
      project: { name: '@engex/halow', root: 'apps/halow', tags: ['engex:service'], metadata: { engex: { port: 8080 } } },
      lines: [],
    });
    expect(check({ name: 'plain' }).project).toEqual({ name: 'plain', root: 'apps/halow', tags: [] });
  });

  it('names the file and path of a string tag (which Nx would silently drop)', () => {
    expect(check({ name: '@engex/halow', nx: { tags: 'engex:service' } })).toEqual({
      project: undefined,
      lines: ['apps/halow/package.json: nx.tags: expected an array of strings, got "engex:service"'],
    });
  });

  it('reports every problem at once: a non-string name, a non-string tag, metadata that is not an object', () => {
    expect(check({ name: 123, nx: { tags: ['ok', 7], metadata: [] } }).lines).toEqual([
      'apps/halow/package.json: name: expected the package name as a non-empty string, got 123',
      'apps/halow/package.json: nx.tags: expected an array of strings, got ["ok",7]',
      'apps/halow/package.json: nx.metadata: expected an object, got []',
    ]);
    expect(check({ name: 'x', nx: 'engex:service' }).lines).toEqual(['apps/halow/package.json: nx: expected an object, got "engex:service"']);
    expect(check([]).lines).toEqual(['apps/halow/package.json: : expected a JSON object, got []']);
  });
});

describe('validateWorkspaceProjects', () => {
  const service = (engex: unknown, root = 'apps/halow') => ({ name: `@engex/${root.split('/').pop()}`, root, tags: ['engex:service'], metadata: { engex } });

  it('accepts valid services and plain libraries', () => {
    expect(() => validateWorkspaceProjects(DEFAULT_WORKSPACE_CONFIG, [service({ port: 3000 }), { name: '@engex/lib', root: 'libs/lib', tags: [] }])).not.toThrow();
  });

  it('uses the service rules (port, names) and reports the problems of every project together', () => {
    const message = failureOf(() =>
      validateWorkspaceProjects(DEFAULT_WORKSPACE_CONFIG, [service({ port: 'abc' }), service({ port: 70000, repository: 'Bad Name' }, 'apps/other')]),
    );
    expect(message).toContain('apps/halow/package.json: nx.metadata.engex.port: expected an integer from 1 to 65535, got "abc"');
    expect(message).toContain('apps/other/package.json: nx.metadata.engex.port: expected an integer from 1 to 65535, got 70000');
    expect(message).toContain('apps/other/package.json: nx.metadata.engex.repository: expected an ECR repository name');
  });

  it('reports engex metadata on a project without the service tag instead of planning no image', () => {
    const message = failureOf(() =>
      validateWorkspaceProjects(DEFAULT_WORKSPACE_CONFIG, [{ name: '@engex/halow', root: 'apps/halow', tags: ['engex-service'], metadata: { engex: { port: 3000 } } }]),
    );
    expect(message).toContain('apps/halow/package.json: nx.metadata.engex: is only read for projects tagged "engex:service", and nx.tags is ["engex-service"]');
  });
});
