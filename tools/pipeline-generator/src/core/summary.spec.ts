import { describe, expect, it } from 'vitest';
import { analyze, syntheticPlanInput } from '../../test/fixtures.js';
import { planDetailed } from './plan.js';
import { planAnnotation, renderSummary } from './summary.js';

const base = { rule: 'pull-request' as const, base: 'b'.repeat(40), reason: 'pull request #1: merge-base.', notes: ['fetched origin/main.'] };
const context = { commit: 'c'.repeat(40), defaultBranch: 'main', branch: 'feat/x', pullRequest: 1 };
const trust = { zone: 'untrusted' as const, reason: 'pull request #1: pull-request code is unreviewed', effect: 'every step on untrusted' };

describe('renderSummary', () => {
  it('names each deploy nothing verifies, in the summary and the annotation', () => {
    const analysis = analyze(['apps/api/src/main.ts']);
    const services = [{ project: '@acme/api', steps: ['acme-api:deploy-staging'], unverified: ['overlays/staging'] }];
    const input = { base, context, trust, analysis, services, jobs: 3, uploads: 1 };
    expect(renderSummary({ ...input, explain: false })).toContain(
      '  unverified: @acme/api → overlays/staging (its deploy target has no url or argocd, so nothing checks that it runs)\n',
    );
    expect(planAnnotation(input)).toContain('- `@acme/api` → `overlays/staging`: unverified');
  });

  it('states the base, what runs per project, and with --explain why', () => {
    const analysis = analyze(['libs/util/src/index.spec.ts', 'libs/util/src/index.ts']);
    const services = [{ project: '@acme/api', steps: ['acme-api:image', 'acme-api:scan', 'acme-api:smoke'], skipped: 'deploy: pull request #1 builds never deploy' }];
    const input = { base, context, trust, analysis, services, jobs: 9, uploads: 1 };
    // Without --explain: the same lines less the indented reasons, and a pointer to them.
    const explained = renderSummary({ ...input, explain: true });
    const short = explained
      .split('\n')
      .filter((l) => !l.startsWith('    '))
      .join('\n');
    expect(renderSummary({ ...input, explain: false })).toBe(short.replace(/\n$/, '\n2 task(s)/step(s) skipped; --explain says which and why.\n'));
    expect(explained).toMatchInlineSnapshot(`
      "engex-pipeline: base bbbbbbbbbbbb [pull-request] pull request #1: merge-base.
        note: fetched origin/main.
      zone: untrusted: pull request #1: pull-request code is unreviewed; every step on untrusted.
      2 of 2 projects affected; 5 Nx tasks; 9 jobs in 1 upload(s).
        @acme/api: test, build, image, scan, smoke
          via: @acme/api -> @acme/util
          test: dependency @acme/util inputs changed: libs/util/src/index.ts
          build: dependency @acme/util inputs changed: libs/util/src/index.ts
          skipped lint: no change reaches its inputs
          skipped deploy: pull request #1 builds never deploy
        @acme/util: build, lint, test
          changed: libs/util/src/index.spec.ts
          changed: libs/util/src/index.ts
          build: inputs changed: libs/util/src/index.ts
          lint: inputs changed: libs/util/src/index.spec.ts, libs/util/src/index.ts
          test: inputs changed: libs/util/src/index.spec.ts, libs/util/src/index.ts
      "
    `);
  });

  it('keeps the summary short at 1,000 projects unless --explain is given', () => {
    const input = syntheticPlanInput(1000);
    const planned = planDetailed(input);
    const summary = { base: input.base, context: input.context, trust: planned.trust, analysis: input.analysis, services: planned.services, jobs: planned.jobs, uploads: 7 };
    const short = renderSummary({ ...summary, explain: false });
    expect(short.split('\n').length).toBeLessThan(40);
    expect(short).toContain('… and 975 more (--explain lists every project).');
    expect(renderSummary({ ...summary, explain: true }).split('\n').length).toBeGreaterThan(3000);
  });
});

describe('planAnnotation', () => {
  it('keeps hostile text inside code spans and table cells', () => {
    const text = planAnnotation({
      base: { ...base, reason: 'branch "a|b`c\nd"' },
      context,
      trust,
      analysis: analyze(['apps/api/src/main.ts']),
      services: [{ project: '@acme/api', steps: [], skipped: 'deploy: branch "x|y" has no deploy target' }],
      jobs: 4,
    });
    expect(text).toContain('branch "a|b`c d"');
    expect(text.split('\n').filter((l) => l.startsWith('|'))).toEqual(['| Project | Why |', '| --- | --- |', '| @acme/api | changed: apps/api/src/main.ts |']);
  });

  it('bounds a 1,000-project table well under the 1 MiB annotation limit', () => {
    const input = syntheticPlanInput(1000);
    const text = planAnnotation({ base: input.base, context: input.context, trust, analysis: input.analysis, services: [], jobs: 3013 });
    expect(text).toContain('| … | 800 more |');
    expect(Buffer.byteLength(text)).toBeLessThan(64 * 1024);
  });
});
