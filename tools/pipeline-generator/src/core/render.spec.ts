import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HOSTILE, PROJECTS, analyze, commandStep, planInput, reconfigured, syntheticPlanInput } from '../../test/fixtures.js';
import type { WorkspaceProject } from './affected.js';
import { commandSteps, type CommandStep, type Pipeline } from './pipeline.js';
import { planPipeline } from './plan.js';
import { escapeInterpolation, renderPipeline, renderUploads, toBuildkite } from './render.js';
import { splitPipeline } from './split.js';
import { renderShellCommands } from './shell.js';
import { validatePipeline } from './validate.js';

/**
 * Buildkite's upload-time interpolation, as documented: `$$` is a literal `$`; `$VAR`,
 * `${VAR}` and `${VAR:-default}` are replaced from the environment.
 */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a?: string, b?: string) =>
    m === '$$' ? '$' : (env[(a ?? b) as string] ?? ''),
  );
}

function interpolateDeep(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)]));
  return value;
}

/** Every command step of an uploaded (parsed) pipeline, groups flattened. */
function uploadedSteps(doc: { steps: Record<string, unknown>[] }): Record<string, unknown>[] {
  return doc.steps.flatMap((s) => ('group' in s ? (s['steps'] as Record<string, unknown>[]) : [s]));
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('escapeInterpolation', () => {
  it('doubles every $', () => {
    expect(escapeInterpolation('a $B ${C} $$ $(id)')).toBe('a $$B $${C} $$$$ $$(id)');
  });
});

describe('renderPipeline', () => {
  it('emits no anchors or aliases even though steps share values', () => {
    const yaml = renderPipeline(planPipeline(planInput({ branch: 'main' }, analyze([], { all: '--all' }))), 'yaml');
    expect(yaml).not.toMatch(/(^|\s)[&*][A-Za-z0-9_-]+(\s|$)/m);
    expect(parse(yaml)).toEqual(toBuildkite(planPipeline(planInput({ branch: 'main' }, analyze([], { all: '--all' })))));
  });

  it('states the most common agents once at the top, and per step only where a step differs', () => {
    const pipeline = planPipeline(planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts'])));
    const same = toBuildkite(pipeline);
    expect(same['agents']).toEqual({ queue: 'default' });
    const queues = uploadedSteps(same as { steps: Record<string, unknown>[] }).map(
      (s) => `${String(s['key'])}: ${(s['agents'] as { queue?: string } | undefined)?.queue ?? '(pipeline)'}`,
    );
    // Push and deploy hold ECR-push and ops-write credentials: never on the queue that runs PR code.
    expect(queues.filter((q) => !q.endsWith('(pipeline)'))).toEqual(['acme-api:image: deploy', 'acme-api:deploy-staging: deploy']);
    const [plan, ...rest] = pipeline.steps;
    const mixed = toBuildkite({ ...pipeline, steps: [{ ...(plan as CommandStep), agents: { queue: 'small' } }, ...rest] });
    expect(mixed['agents']).toEqual({ queue: 'default' });
    expect(uploadedSteps(mixed as { steps: Record<string, unknown>[] }).find((s) => s['key'] === 'engex-plan')?.['agents']).toEqual({ queue: 'small' });
  });

  it('cancels the image work of a failing build (image, scan, local image), never a check or a deploy', () => {
    const flagged = (input: Parameters<typeof planPipeline>[0]): string[] =>
      uploadedSteps(toBuildkite(planPipeline(input)) as { steps: Record<string, unknown>[] })
        .filter((s) => s['cancel_on_build_failing'] === true)
        .map((s) => String(s['key']));
    expect(flagged(planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts'])))).toEqual(['acme-api:image', 'acme-api:scan']);
    expect(flagged(planInput({ branch: 'feat/login', pullRequest: 42 }, analyze(['apps/api/src/main.ts'])))).toEqual(['acme-api:image']);
  });

  it('writes YAML that reads back exactly as toBuildkite, for every shape of step', () => {
    const hostile = planPipeline(planInput({ branch: HOSTILE.join('$') }, analyze([], { all: HOSTILE.join('\n') })));
    const [plan, ...rest] = hostile.steps;
    const odd: Pipeline = {
      ...hostile,
      steps: [{ ...(plan as CommandStep), agents: { queue: 'a$b', os: 'linux #1' }, env: { X$Y: '${Z}', EMPTY: '' }, concurrency: { group: 'g: $x', limit: 1 } }, ...rest],
    };
    for (const pipeline of [hostile, odd, planPipeline(syntheticPlanInput(300))]) {
      expect(parse(renderPipeline(pipeline, 'yaml'))).toEqual(toBuildkite(pipeline));
    }
  });

  it('renders JSON with the same content', () => {
    const pipeline = planPipeline(planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts'])));
    expect(JSON.parse(renderPipeline(pipeline, 'json'))).toEqual(parse(renderPipeline(pipeline, 'yaml')));
  });
});

describe('hostile names', () => {
  const evil = (dir: string): { branch: string; project: WorkspaceProject } => ({
    branch: `feat/$(touch ${dir}/pwned-1)\`touch ${dir}/pwned-2\`'"\n\${HOME}ünï🚀`,
    project: { ...(PROJECTS[1] as WorkspaceProject), name: `@evil/$(touch ${dir}/pwned-3)`, root: 'apps/evil' },
  });

  it.each(HOSTILE.filter((h) => h !== ''))('branch %j gives valid YAML whose strings survive interpolation unchanged', (branch) => {
    const input = planInput({ branch }, analyze(['apps/api/src/main.ts']), {
      rule: 'branch-point',
      base: 'b'.repeat(40),
      reason: `branch ${JSON.stringify(branch)}: merge-base.`,
      notes: [],
    });
    const pipeline = planPipeline(input);
    const uploaded = interpolateDeep(parse(renderPipeline(pipeline, 'yaml')), { id: 'INTERPOLATED', HOME: 'INTERPOLATED' }) as { steps: Record<string, unknown>[] };
    const typed = commandSteps(pipeline);
    expect(uploadedSteps(uploaded).map((s) => s['commands'])).toEqual(typed.map((s) => renderShellCommands(s.commands)));
  });

  it('runs nothing extra when the uploaded commands execute in a real shell', () => {
    const dir = mkdtempSync(join(tmpdir(), 'engex-hostile-'));
    dirs.push(dir);
    const { branch, project } = evil(dir);
    const projects = [PROJECTS[0] as WorkspaceProject, project];
    const input = reconfigured(
      planInput({ branch }, analyze(['apps/evil/src/main.ts'], { projects }), {
        rule: 'branch-point' as const,
        base: 'b'.repeat(40),
        reason: `branch ${JSON.stringify(branch)}.`,
        notes: [],
      }),
      { projects },
    );
    const pipeline = planPipeline(input);
    expect(validatePipeline([pipeline])).toEqual([]);
    const uploaded = interpolateDeep(parse(renderPipeline(pipeline, 'yaml')), {}) as { steps: Record<string, unknown>[] };

    // Every program the steps call is a stub that records its argv.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const log = join(dir, 'argv.log');
    for (const name of ['npm', 'npx', 'node', 'docker', 'buildkite-agent']) {
      writeFileSync(join(bin, name), `#!/bin/sh\nprintf '%s\\036' "$(basename "$0")" "$@" >> "${log}"\nprintf '\\035' >> "${log}"\n`);
      chmodSync(join(bin, name), 0o755);
    }
    const work = join(dir, 'checkout');
    mkdirSync(join(work, 'reports', 'trivy'), { recursive: true });
    writeFileSync(join(work, 'reports', 'trivy', 'evil.md'), 'scan');
    // What `engex-ci image push --digest-file` leaves for the meta-data and the annotation.
    mkdirSync(join(work, 'reports', 'image'), { recursive: true });
    writeFileSync(join(work, 'reports', 'image', 'evil.digest'), `sha256:${'e'.repeat(64)}\n`);
    for (const step of uploadedSteps(uploaded)) {
      const script = (step['commands'] as string[]).join('\n');
      try {
        execFileSync('/bin/sh', ['-e', '-c', script], { cwd: work, env: { PATH: `${bin}:/usr/bin:/bin` }, stdio: 'pipe' });
      } catch (error) {
        throw new Error(`${String((error as { stderr: Buffer }).stderr)}\n${script}`, { cause: error });
      }
    }
    expect(['pwned-1', 'pwned-2', 'pwned-3'].filter((f) => existsSync(join(dir, f)))).toEqual([]);
    const calls = readFileSync(log, 'utf8')
      .split('\x1d')
      .filter(Boolean)
      .map((c) => c.split('\x1e').slice(0, -1));
    const annotate = calls.find((c) => c[0] === 'buildkite-agent' && c.includes('engex-plan'));
    expect(annotate?.at(-1)).toContain(JSON.stringify(branch).slice(1, -1));
    // The hostile project name reached Nx as one argument.
    expect(calls.find((c) => c[0] === 'npx' && c[2] === 'run-many')?.slice(-3)).toEqual(['--projects', project.name, '--outputStyle=static']);
    // The shell made the SBOM's bind mount absolute: the agent's checkout, known only there.
    expect(calls.find((c) => c[0] === 'docker' && c.includes('sbom'))?.slice(0, 5)).toEqual([
      'docker',
      'run',
      '--rm',
      '-v',
      `${work}/apps/evil/dist/sbom.cdx.json:/sbom/sbom.cdx.json:ro`,
    ]);
  });
});

describe('splitPipeline', () => {
  const step = (key: string, dependsOn: string[] = []) => commandStep(key, dependsOn);
  // 300 groups of 3 jobs; group i depends on group i+1, so the order has to be reversed.
  const big: Pipeline = {
    steps: [
      step('plan'),
      ...Array.from({ length: 300 }, (_, i) => ({
        type: 'group' as const,
        key: `g${i}`,
        label: `g${i}`,
        project: `g${i}`,
        steps: [step(`g${i}:a`, i < 299 ? [`g${i + 1}:c`] : []), step(`g${i}:b`, [`g${i}:a`]), step(`g${i}:c`)],
      })),
    ],
    notify: [{ channel: '#c', if: 'build.state == "failed"' }],
  };

  it('keeps a pipeline under the limit as one upload', () => {
    expect(splitPipeline(big, 1000)).toEqual([big]);
  });

  it('splits into uploads under the limit, dependencies first, groups whole, notify once', () => {
    const uploads = splitPipeline(big, 500);
    expect(uploads.map((u) => commandSteps(u).length)).toEqual([499, 402]);
    expect(validatePipeline(uploads, 500)).toEqual([]);
    expect(uploads.map((u) => u.notify.length)).toEqual([1, 0]);
    expect(uploads[0]?.steps[0]?.key).toBe('plan');
    expect(uploads.flatMap((u) => u.steps).length).toBe(301);
  });

  it('keeps a dependency cycle between groups inside one upload', () => {
    const cyclic: Pipeline = {
      steps: [
        ...Array.from({ length: 200 }, (_, i) => ({ type: 'group' as const, key: `x${i}`, label: `x${i}`, project: `x${i}`, steps: [step(`x${i}:a`), step(`x${i}:b`)] })),
        { type: 'group', key: 'p', label: 'p', project: 'p', steps: [step('p:a', ['q:b']), step('p:b')] },
        { type: 'group', key: 'q', label: 'q', project: 'q', steps: [step('q:a', ['p:b']), step('q:b')] },
      ],
      notify: [],
    };
    const uploads = splitPipeline(cyclic, 401);
    expect(validatePipeline(uploads, 401)).toEqual([]);
    const holder = uploads.findIndex((u) => u.steps.some((s) => s.key === 'p'));
    expect(uploads[holder]?.steps.some((s) => s.key === 'q')).toBe(true);
  });

  it('renders several uploads as YAML documents', () => {
    const text = renderUploads(splitPipeline(big, 500), 'yaml');
    expect(text.split(/^---$/m)).toHaveLength(2);
  });
});
