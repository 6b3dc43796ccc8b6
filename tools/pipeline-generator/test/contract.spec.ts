import { expect, it } from 'vitest';
import { describeNeeding } from '@engex/ci-lib/testing';
import { commandSteps } from '../src/core/pipeline.js';
import { planPipeline } from '../src/core/plan.js';
import { toBuildkite } from '../src/core/render.js';
import { MAX_JOBS_PER_UPLOAD, jobCount, splitPipeline } from '../src/core/split.js';
import { validatePipeline } from '../src/core/validate.js';
import { BASE_SHA, HOSTILE, analyze, planInput, reconfigured, syntheticPlanInput } from './fixtures.js';
import { SCHEMA, schemaErrors } from './schema.js';

const lastPassed = { rule: 'last-passed-build' as const, base: BASE_SHA, reason: 'last passed build.', notes: [] };

const scenarios = {
  'pull request': planInput({ branch: 'feat/x', pullRequest: 42 }, analyze(['apps/api/src/main.ts'])),
  'default branch': planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts']), lastPassed),
  'release branch': planInput({ branch: 'release/2.0' }, analyze(['apps/api/src/main.ts']), lastPassed),
  tag: planInput({ branch: 'v2.0.0', tag: 'v2.0.0' }, analyze([], { all: 'tag build' }), { rule: 'none', reason: 'tag build', notes: [] }),
  'nothing affected': planInput({ branch: 'feat/docs', pullRequest: 3 }, analyze(['README.md'])),
  everything: planInput({ branch: 'main' }, analyze([], { all: '--all' }), { rule: 'all', reason: '--all', notes: [] }),
  'several targets, pinned digest, verify with ArgoCD': (() => {
    const input = planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts']), lastPassed);
    const target = {
      branch: 'main',
      overlay: 'overlays/staging',
      pinDigest: true,
      approval: 'manual' as const,
      url: 'https://api.example.com',
      argocd: { server: 'https://argocd.example.com', application: 'api' },
    };
    return reconfigured(input, { config: { deployTargets: [target, { ...target, overlay: 'overlays/staging-eu', approval: 'none' as const }] } });
  })(),
  'stepGranularity project, default branch': (() => {
    return reconfigured(planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts']), lastPassed), { config: { stepGranularity: 'project' } });
  })(),
  'stepGranularity project, everything': (() => {
    return reconfigured(planInput({ branch: 'main' }, analyze([], { all: '--all' }), { rule: 'all', reason: '--all', notes: [] }), { config: { stepGranularity: 'project' } });
  })(),
  'stepGranularity target, everything': (() => {
    return reconfigured(planInput({ branch: 'main' }, analyze([], { all: '--all' }), { rule: 'all', reason: '--all', notes: [] }), { config: { stepGranularity: 'target' } });
  })(),
  'hostile branch names': planInput({ branch: HOSTILE.join('|') }, analyze(['apps/api/src/main.ts']), {
    rule: 'branch-point',
    base: BASE_SHA,
    reason: HOSTILE.join(' '),
    notes: HOSTILE,
  }),
};

describeNeeding([SCHEMA], "Buildkite's pipeline schema", () => {
  it.each(Object.entries(scenarios))('%s: valid against the schema and our own checks', (_name, input) => {
    const pipeline = planPipeline(input);
    expect(validatePipeline([pipeline])).toEqual([]);
    expect(schemaErrors(toBuildkite(pipeline))).toEqual([]);
  });

  it('1,000 projects, everything, one job per task: split into uploads that each pass the schema and stay under 500 jobs', () => {
    const pipeline = planPipeline(reconfigured(syntheticPlanInput(1000), { config: { stepGranularity: 'target' } }));
    const uploads = splitPipeline(pipeline);
    expect(jobCount(pipeline)).toBeGreaterThan(3000);
    expect(uploads.length).toBeGreaterThan(6);
    expect(validatePipeline(uploads)).toEqual([]);
    for (const upload of uploads) {
      expect(jobCount(upload)).toBeLessThanOrEqual(MAX_JOBS_PER_UPLOAD);
      expect(schemaErrors(toBuildkite(upload))).toEqual([]);
    }
    expect(uploads.flatMap((u) => commandSteps(u)).length).toBe(jobCount(pipeline));
  });

  it('1,000 projects, everything, stepGranularity project: one job per project, split and valid', () => {
    const pipeline = planPipeline(reconfigured(syntheticPlanInput(1000), { config: { stepGranularity: 'project' } }));
    const uploads = splitPipeline(pipeline);
    expect(commandSteps(pipeline).filter((s) => s.meta.kind === 'nx-project')).toHaveLength(1000);
    expect(validatePipeline(uploads)).toEqual([]);
    for (const upload of uploads) expect(schemaErrors(toBuildkite(upload))).toEqual([]);
  });

  it('every job that installs restores node_modules through the pinned cache plugin, in a schema-valid plugin entry', () => {
    const doc = toBuildkite(planPipeline(scenarios['several targets, pinned digest, verify with ArgoCD']));
    expect(schemaErrors(doc)).toEqual([]);
    const jobs = (doc['steps'] as Record<string, unknown>[]).flatMap((s) => (s['steps'] as Record<string, unknown>[] | undefined) ?? [s]).filter((s) => 'commands' in s);
    const installing = jobs.filter((s) => (s['commands'] as string[]).some((c) => c.includes('npm ci')));
    expect(installing.length).toBeGreaterThan(1);
    for (const job of installing) {
      expect((job['commands'] as string[])[0]).toBe('test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund');
      expect((job['plugins'] as Record<string, unknown>[])[0]).toEqual({
        'cache#v1.12.0': {
          backend: 's3',
          manifest: 'package-lock.json',
          path: 'node_modules',
          restore: 'file',
          save: 'file',
          compression: 'zstd',
          'key-extra': '-linux-x64-node24',
          'soft-fail': true,
        },
      });
    }
    // The plan job, and the image, scan and deploy jobs (they start from the build job's artifacts), install nothing, so they restore nothing.
    const idle = jobs.filter((s) => !installing.includes(s));
    expect(idle.map((s) => s['key'])).toEqual(expect.arrayContaining(['engex-plan', 'acme-api:image', 'acme-api:scan']));
    expect(idle.flatMap((s) => (s['plugins'] as Record<string, unknown>[] | undefined) ?? []).filter((p) => 'cache#v1.12.0' in p)).toEqual([]);
  });

  it('rejects what Buildkite would reject (the check has teeth)', () => {
    const bad = toBuildkite(planPipeline(scenarios['pull request']));
    const steps = bad['steps'] as Record<string, unknown>[];
    (steps[0] as Record<string, unknown>)['key'] = 'has spaces';
    (steps[0] as Record<string, unknown>)['retry'] = { automatic: { limit: 99 } };
    expect(schemaErrors(bad).length).toBeGreaterThan(0);
  });
});
