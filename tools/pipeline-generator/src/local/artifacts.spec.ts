import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/temp-dir.js';
import { artifactMatcher, collectArtifacts, globBase } from './artifacts.js';

describe('artifactMatcher', () => {
  it('matches like Buildkite artifact_paths', () => {
    const matches = artifactMatcher('reports/**/*.xml');
    expect(['reports/a.xml', 'reports/x/y/b.xml', 'reports/a.json', 'other/reports/a.xml', 'reports/.hidden/c.xml'].map(matches)).toEqual([true, true, false, false, true]);
    expect(artifactMatcher('reports/trivy/halow.json')('reports/trivy/halow.json')).toBe(true);
    expect(artifactMatcher('a/*.md')('a/b/c.md')).toBe(false);
    expect(artifactMatcher('a/?.md')('a/b.md')).toBe(true);
  });

  it('walks only below the fixed prefix', () => {
    expect([globBase('reports/junit/*.xml'), globBase('**/*.xml'), globBase('a/b.txt')]).toEqual(['reports/junit', '', 'a']);
  });
});

describe('collectArtifacts', () => {
  it('copies the matching files, keeping their paths', async () => {
    const root = await tempDir('engex-artifacts-');
    await mkdir(join(root, 'ws/reports/junit'), { recursive: true });
    await writeFile(join(root, 'ws/reports/junit/halow.xml'), '<x/>');
    await writeFile(join(root, 'ws/reports/junit/notes.txt'), '');
    const copied = await collectArtifacts(join(root, 'ws'), ['reports/junit/*.xml', 'missing/*.xml'], join(root, 'out'));
    expect(copied).toEqual(['reports/junit/halow.xml']);
    expect(await readdir(join(root, 'out/reports/junit'))).toEqual(['halow.xml']);
  });
});
