import { ConfigError, parseWorkspaceConfig, type DeployTarget } from '@engex/workspace-config';
import { describe, expect, it } from 'vitest';
import { BASE_SHA, analyze, planInput, reconfigured } from '../../test/fixtures.js';
import type { PlanPipelineInput } from './context.js';
import { CHECKS_GATE_KEY } from './phases/job-keys.js';
import { allSteps, commandSteps, type Pipeline } from './pipeline.js';
import { planPipeline } from './plan.js';
import { renderPipeline } from './render.js';
import { validatePipeline } from './validate.js';

const lastPassed = { rule: 'last-passed-build' as const, base: BASE_SHA, reason: 'last passed build on "main" was at ba5e00000000.', notes: [] };
const everything = analyze([], { all: '--all' });
const apiChange = analyze(['apps/api/src/main.ts']);
const utilChange = analyze(['libs/util/src/index.ts']);
const staging: DeployTarget = { branch: 'main', overlay: 'overlays/staging', pinDigest: false, approval: 'none' };
const argocd = { server: 'https://argocd.example.com', application: 'api-staging' };

/** The pipeline, checked valid for upload first. */
function plan(input: PlanPipelineInput): Pipeline {
  const pipeline = planPipeline(input);
  expect(validatePipeline([pipeline])).toEqual([]);
  return pipeline;
}

/** Each command step as `key <- its dependencies`, in pipeline order. */
function outline(input: PlanPipelineInput): string[] {
  return commandSteps(plan(input)).map((s) => `${s.key}${s.dependsOn.length ? ` <- ${s.dependsOn.join(' ')}` : ''}`);
}

/** The plan step's annotation. */
function annotation(input: PlanPipelineInput): string {
  const first = commandSteps(plan(input))[0]?.commands[0];
  return first?.kind === 'annotate' ? (first.body ?? '') : '';
}

const withTargets = (targets: DeployTarget[], input: PlanPipelineInput): PlanPipelineInput => reconfigured(input, { config: { deployTargets: targets } });
const projectMode = (input: PlanPipelineInput): PlanPipelineInput => reconfigured(input, { config: { stepGranularity: 'project' } });
const targetMode = (input: PlanPipelineInput): PlanPipelineInput => reconfigured(input, { config: { stepGranularity: 'target' } });
const release = planInput({ branch: 'release/1.4' }, apiChange, { ...lastPassed, reason: 'last passed build on "release/1.4" was at ba5e00000000.' });
const tag = planInput({ branch: 'v1.4.0', tag: 'v1.4.0' }, analyze([], { all: 'no base: tag build ("v1.4.0"): a release rebuilds and tags every service.' }), {
  rule: 'none',
  reason: 'tag build ("v1.4.0"): a release rebuilds and tags every service.',
  notes: [],
});

/** One whole pipeline per scenario, as Buildkite receives it; everything else below is a projection. */
describe('goldens', () => {
  it.each<[string, PlanPipelineInput]>([
    // The service change builds, scans and smoke-tests its image on the untrusted queue, and never deploys.
    ['pull-request', planInput({ branch: 'feat/login', pullRequest: 42 }, apiChange)],
    // A library change reaches the service through its dependency and deploys to staging.
    ['default-branch', planInput({ branch: 'main' }, utilChange, lastPassed)],
    // A block step carrying commit, digest and scan locations gates the production deploy, one bump at a time per ops repo.
    ['release-branch', release],
    // Two staging targets: one deploy each, one ops-repo concurrency group, a pinned digest, verify where configured.
    [
      'deploy-targets',
      withTargets(
        [
          { ...staging, url: 'https://api.staging.example.com', argocd },
          { ...staging, overlay: 'overlays/staging-eu', pinDigest: true },
          { branch: 'release/*', overlay: 'overlays/production', pinDigest: false, approval: 'manual' },
        ],
        planInput({ branch: 'main' }, apiChange, lastPassed),
      ),
    ],
    // One job per affected project: one nx run-many, jobs ordered by the task graph.
    ['step-granularity-project', projectMode(planInput({ branch: 'main' }, utilChange, lastPassed))],
    // One job per affected task, depends_on from the task graph.
    ['step-granularity-target', targetMode(planInput({ branch: 'main' }, utilChange, lastPassed))],
    // One valid step that says so.
    ['nothing-affected', planInput({ branch: 'feat/docs', pullRequest: 7 }, analyze(['README.md']))],
  ])('%s', async (name, input) => {
    await expect(renderPipeline(plan(input), 'yaml')).toMatchFileSnapshot(`__snapshots__/${name}.yml`);
  });

  it('is deterministic', () => {
    const input = planInput({ branch: 'main' }, utilChange, lastPassed);
    expect(renderPipeline(planPipeline(input), 'json')).toBe(renderPipeline(planPipeline(input), 'json'));
  });
});

describe('what runs', () => {
  /** Every task and the image: what a build that runs everything starts with. */
  // Under `checks` no checks job waits for another: api's build job runs util's build itself.
  const everyTask = ['engex-plan', 'acme-api:tasks', 'acme-api:build', 'acme-api:image <- acme-api:build', 'acme-util:tasks'];
  it.each<[string, PlanPipelineInput, string[]]>([
    [
      'release branch: the production deploy waits for its approval and the checks gate',
      release,
      [
        'engex-plan',
        // stepGranularity "checks" (the default): lint and test share a job; the build has its own, which the image waits for.
        'acme-api:tasks',
        'acme-api:build',
        'acme-api:image <- acme-api:build',
        'acme-api:scan <- acme-api:image',
        'acme-api:deploy-production <- engex-checks-passed acme-api:approve-production',
        'engex-checks-passed <- acme-api:tasks acme-api:build acme-api:image acme-api:scan',
      ],
    ],
    ['tag build: everything runs and nothing deploys', tag, everyTask],
    [
      '--all on the default branch: every task, every image, and the deploy',
      planInput({ branch: 'main' }, everything, { rule: 'all', reason: '--all: every project runs.', notes: [] }),
      [
        ...everyTask.slice(0, -1),
        'acme-api:scan <- acme-api:image',
        'acme-api:deploy-staging <- engex-checks-passed',
        'acme-util:tasks',
        'engex-checks-passed <- acme-api:tasks acme-api:build acme-api:image acme-api:scan acme-util:tasks',
      ],
    ],
    [
      'a spec-only change runs the tests but builds no image: production inputs did not change',
      planInput({ branch: 'main' }, analyze(['apps/api/src/main.spec.ts']), lastPassed),
      ['engex-plan', 'acme-api:tasks'],
    ],
    [
      'a Dockerfile change rebuilds images even when no build input changed',
      planInput({ branch: 'feat/base-image', pullRequest: 9 }, analyze(['docker/Dockerfile', 'apps/api/src/main.spec.ts'])),
      ['engex-plan', 'acme-api:tasks', 'acme-api:image'],
    ],
    [
      "the shared Dockerfile, in no project's inputs, rebuilds every service image on its own",
      planInput({ branch: 'main' }, analyze(['docker/Dockerfile']), lastPassed),
      ['engex-plan', 'acme-api:image', 'acme-api:scan <- acme-api:image', 'acme-api:deploy-staging <- engex-checks-passed', 'engex-checks-passed <- acme-api:image acme-api:scan'],
    ],
    [
      'stepGranularity "project": one job per project, ordered by the task graph',
      projectMode(planInput({ branch: 'main' }, utilChange, lastPassed)),
      [
        'engex-plan',
        'acme-util:tasks',
        'acme-api:tasks <- acme-util:tasks',
        'acme-api:image <- acme-api:tasks',
        'acme-api:scan <- acme-api:image',
        'acme-api:deploy-staging <- engex-checks-passed',
        'engex-checks-passed <- acme-api:tasks acme-api:image acme-api:scan acme-util:tasks',
      ],
    ],
  ])('%s', (_name, input, expected) => {
    expect(outline(input)).toEqual(expected);
  });

  it.each<[string, PlanPipelineInput, string[]]>([
    [
      'a spec-only change says why no image is built',
      planInput({ branch: 'main' }, analyze(['apps/api/src/main.spec.ts']), lastPassed),
      ['`@acme/api:build`: no change reaches its inputs', '`@acme/api` image: no build input changed (only non-production files did)'],
    ],
    [
      'an image-only service says which workspace file rebuilt it',
      planInput({ branch: 'main' }, analyze(['docker/Dockerfile']), lastPassed),
      ['| @acme/api | image only: image inputs changed: docker/Dockerfile |'],
    ],
    [
      'a tag build says why everything runs, its zone, and why nothing deploys',
      tag,
      [
        '**Base:** none, so everything runs (none): tag build ("v1.4.0"): a release rebuilds and tags every service.',
        '**Zone:** untrusted: tag "v1.4.0" matches no trusted branch ("main", "release/*"); every step on untrusted',
        '**Affected:** 2 of 2 projects, 5 jobs.',
        '- `@acme/api` deploy: tag builds never deploy',
      ],
    ],
    [
      'a pull request says which zone the build is in and why',
      planInput({ branch: 'main', pullRequest: 123 }, everything),
      ['**Zone:** untrusted: pull request #123: pull-request code is unreviewed; every step on untrusted'],
    ],
  ])('the annotation: %s', (_name, input, lines) => {
    const text = annotation(input);
    for (const line of lines) expect(text).toContain(line);
  });
});

describe('deploys: every target, gates, proof', () => {
  it('verifies a target with ArgoCD and no url (ArgoCD only), and names the target with neither as unverified (issue 20, finding 5)', () => {
    const input = withTargets(
      [
        { ...staging, argocd },
        { ...staging, overlay: 'overlays/staging-eu' },
      ],
      planInput({ branch: 'main' }, apiChange, lastPassed),
    );
    const yaml = renderPipeline(plan(input), 'yaml');
    expect(yaml).toContain(
      'deploy verify --revision c0ffee0000000000000000000000000000000001 --argocd-server https://argocd.example.com --argocd-app api-staging --ops-commit-file reports/deploy/api-staging.ops-commit --timeout 10m',
    );
    expect(yaml).toContain('buildkite-agent meta-data set engex:api:staging:ops-commit');
    expect(yaml).not.toContain('verify-staging-eu');
    expect(annotation(input)).toContain('**Unverified:** nothing checks that these deploys run');
    expect(annotation(input)).toContain('- `@acme/api` → `overlays/staging-eu`: unverified');
    expect(annotation(input)).not.toContain('`overlays/staging`: unverified');
  });

  const tool = {
    name: '@acme/tool',
    root: 'tools/tool',
    tags: [],
    metadata: {},
    targets: { test: { executor: 'nx:run-commands', command: 'vitest run', cwd: 'tools/tool' } },
  };
  /** The main build of a change to util and to @acme/tool, which the service does not use. */
  const withTool = (deployWhen: 'build' | 'service'): PlanPipelineInput => {
    const projects = planInput({}, analyze([])).projects.map((p) => (p.name === '@acme/api' ? { ...p, metadata: { engex: { deployWhen } } } : p));
    const all = [...projects, tool];
    return reconfigured(planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts', 'tools/tool/src/main.ts'], { projects: all }), lastPassed), { projects: all });
  };
  /** What the staging deploy waits for, through the checks gate when it waits for it. */
  const deployWaitsFor = (input: PlanPipelineInput): string[] => {
    const steps = commandSteps(plan(input));
    const deploy = steps.find((s) => s.key === 'acme-api:deploy-staging');
    return (deploy?.dependsOn ?? []).flatMap((k) => (k === CHECKS_GATE_KEY ? [...(steps.find((s) => s.key === k)?.dependsOn ?? [])] : [k]));
  };
  const closure = ['acme-api:tasks', 'acme-api:build', 'acme-api:image', 'acme-api:scan', 'acme-util:tasks'];

  it('deployWhen "build" (default): the deploy waits for every check of the build, also of projects the service does not use', () => {
    expect(deployWaitsFor(withTool('build'))).toEqual([...closure.slice(0, 4), 'acme-tool:tasks', ...closure.slice(4)]);
  });

  it('deployWhen "service": the deploy waits for the checks of its dependency closure only, dependencies included, and no gate', () => {
    expect(deployWaitsFor(withTool('service'))).toEqual(closure);
    expect(commandSteps(plan(withTool('service'))).find((s) => s.key === 'acme-api:deploy-staging')?.dependsOn).toEqual(closure);
    expect(allSteps(plan(withTool('service'))).map((s) => s.key)).not.toContain(CHECKS_GATE_KEY);
  });

  it('deployWhen "build": the fan-in is written once, on the gate, however many deploy steps wait', () => {
    const steps = allSteps(plan(withTargets([staging, { ...staging, overlay: 'overlays/staging-eu' }], planInput({ branch: 'main' }, apiChange, lastPassed))));
    const gated = steps.filter((s) => s.dependsOn.includes(CHECKS_GATE_KEY)).map((s) => [s.key, ...s.dependsOn].join(' <- '));
    expect(gated).toEqual(['acme-api:deploy-staging <- engex-checks-passed', 'acme-api:deploy-staging-eu <- engex-checks-passed']);
    expect(steps.filter((s) => s.key === CHECKS_GATE_KEY)).toHaveLength(1);
  });
});

describe('stepGranularity "project"', () => {
  const junit = (steps: ReturnType<typeof commandSteps>): string[] =>
    steps
      .flatMap((s) => s.artifactPaths)
      .filter((p) => p.endsWith('junit.xml'))
      .sort();
  const uploads = (steps: ReturnType<typeof commandSteps>): unknown[] =>
    steps.flatMap((s) => s.plugins.filter((p) => p.ref.startsWith('test-collector#')).map((p) => p.config['files'])).sort();

  it('keeps the JUnit file and its Test Engine upload where stepGranularity "target" has them', () => {
    const target = commandSteps(plan(planInput({}, utilChange)));
    const project = commandSteps(plan(projectMode(planInput({}, utilChange))));
    expect(junit(project)).toEqual(['apps/api/reports/junit.xml', 'libs/util/reports/junit.xml']);
    expect(junit(project)).toEqual(junit(target));
    expect(uploads(project)).toEqual(uploads(target));
  });

  it.each(['target', 'project'] as const)('without testEngine (%s), test steps keep their JUnit artifact and send nothing to Test Engine', (stepGranularity) => {
    const steps = commandSteps(plan(reconfigured(planInput({}, utilChange), { config: { testEngine: false, stepGranularity } })));
    expect(uploads(steps)).toEqual([]);
    expect(junit(steps)).toEqual(['apps/api/reports/junit.xml', 'libs/util/reports/junit.xml']);
  });

  it('needs fewer jobs than one per task; "checks" (the default) one more than "project", for the service\'s build', () => {
    const input = planInput({ branch: 'main' }, everything, lastPassed);
    const jobs = (i: PlanPipelineInput): number => commandSteps(plan(i)).length;
    expect(jobs(projectMode(input))).toBe(jobs(targetMode(input)) - 4);
    expect(jobs(input)).toBe(jobs(projectMode(input)) + 1);
  });

  it('projects whose tasks depend on each other both ways keep one job per task', () => {
    const base = planInput({}, utilChange);
    // util:lint now waits for api:build too, while api:build waits for util:build: a project-level cycle.
    const tasks = base.analysis.tasks.map((t) => (t.id === '@acme/util:lint' ? { ...t, dependsOn: ['@acme/api:build'] } : t));
    const input = projectMode({ ...base, analysis: { ...base.analysis, tasks } });
    expect(commandSteps(plan(input)).filter((s) => s.meta.kind === 'nx-project')).toEqual([]);
    expect(outline(input)).toContain('acme-util:lint <- acme-api:build');
  });
});

describe('trust zones (issue 18)', () => {
  const queues = (input: PlanPipelineInput): string[] => [...new Set(commandSteps(plan(input)).map((s) => s.agents['queue'] ?? ''))].sort();
  const pluginRefs = (input: PlanPipelineInput): string[] => [...new Set(commandSteps(plan(input)).flatMap((s) => s.plugins.map((p) => p.ref)))].sort();
  const engexCalls = (input: PlanPipelineInput): string[] => commandSteps(plan(input)).flatMap((s) => s.commands.flatMap((c) => (c.kind === 'engex-ci' ? [c.call.command] : [])));
  const cacheOf = (input: PlanPipelineInput) =>
    commandSteps(plan(input))
      .flatMap((s) => s.plugins)
      .filter((p) => p.ref.startsWith('cache#'));
  const mainAll = planInput({ branch: 'main' }, everything, lastPassed);

  it.each([{ branch: 'main', pullRequest: 123 }, { branch: 'release/9', pullRequest: 124 }, { branch: 'feature/x' }])(
    'attack 1: an untrusted build (%o, even --all) puts nothing on the deploy queue, logs in to no ECR and pushes, deploys nothing',
    (context) => {
      const input = planInput(context, everything);
      expect(queues(input)).toEqual(['untrusted']);
      expect(pluginRefs(input)).not.toContain('ecr#v2.10.0');
      for (const call of ['image push', 'deploy bump', 'ecr check']) expect(engexCalls(input)).not.toContain(call);
      expect(allSteps(plan(input)).filter((s) => s.type === 'block' || ['deploy', 'verify', 'scan'].includes(s.meta.kind))).toEqual([]);
      // What a reviewer needs: the image is built, smoked (the local image, no pull) and scanned on the untrusted agent.
      const image = commandSteps(plan(input)).find((s) => s.key === 'acme-api:image');
      expect(image?.meta).toMatchObject({ kind: 'image', zone: 'local' });
      // No install and no Nx: engex-ci, the bundle and its SBOM come from the build job's artifacts.
      expect(image?.commands.map((c) => (c.kind === 'engex-ci' ? c.call.command : c.kind === 'trivy' ? `trivy ${c.target}` : c.kind))).toEqual([
        'artifact-download',
        'exec',
        'artifact-download',
        'artifact-download',
        'image build',
        'image smoke',
        'trivy image',
        'trivy sbom',
        'scan report',
        'annotate',
      ]);
      expect(image?.commands.some((c) => c.kind === 'engex-ci' && c.call.command === 'image smoke' && c.call.local === true)).toBe(true);
    },
  );

  it('trusted builds: checks on agents.queue, scan on dockerQueue, image (push and smoke) and deploys on deployQueue', () => {
    const steps = commandSteps(plan(reconfigured(mainAll, { config: { dockerQueue: 'docker' } })));
    const queueOf = (kind: string) => [...new Set(steps.filter((s) => s.meta.kind === kind).map((s) => s.agents['queue']))];
    expect(['nx-task', 'scan', 'image', 'deploy'].map(queueOf)).toEqual([['default'], ['docker'], ['deploy'], ['deploy']]);
    expect(steps.find((s) => s.meta.kind === 'image')?.plugins.find((p) => p.ref === 'ecr#v2.10.0')?.config).toEqual({
      login: true,
      'account-ids': '460210468233',
      region: 'us-east-1',
    });
  });

  it("image, scan and deploy jobs start from the build job's artifacts (no install, restore or Nx); without a build job the image job builds", () => {
    const steps = commandSteps(plan(mainAll));
    const build = steps.find((s) => s.key === 'acme-api:build')!;
    expect(build.commands.at(-1)).toMatchObject({ kind: 'engex-ci', call: { command: 'image sbom', project: '@acme/api' } });
    expect(build.artifactPaths).toEqual(['apps/api/dist/main.cjs', 'apps/api/dist/sbom.cdx.json', 'libs/ci-lib/dist/engex-ci.cjs']);
    for (const key of ['acme-api:image', 'acme-api:scan', 'acme-api:deploy-staging']) {
      const step = steps.find((s) => s.key === key)!;
      expect(step.commands[0], key).toEqual({ kind: 'artifact-download', path: 'libs/ci-lib/dist/engex-ci.cjs', step: 'acme-api:build' });
      expect(
        step.commands.filter((c) => ['install', 'nx', 'nx-run-many'].includes(c.kind)),
        key,
      ).toEqual([]);
      expect(
        step.plugins.filter((p) => p.ref.startsWith('cache#')),
        key,
      ).toEqual([]);
    }
    const image = steps.find((s) => s.key === 'acme-api:image')!;
    expect(image.commands).toContainEqual({ kind: 'artifact-download', path: 'apps/api/dist/sbom.cdx.json', step: 'acme-api:build' });
    expect(image.commands).toContainEqual(expect.objectContaining({ call: expect.objectContaining({ command: 'image build', builtSbom: true }) }));
    // A Dockerfile-only change runs no build job: the image job installs, builds, and writes the SBOM itself.
    const dockerOnly = commandSteps(plan(planInput({ branch: 'main' }, analyze(['docker/Dockerfile']), lastPassed))).find((s) => s.key === 'acme-api:image')!;
    expect(dockerOnly.commands.map((c) => (c.kind === 'engex-ci' ? c.call.command : c.kind))).toEqual(expect.arrayContaining(['install', 'nx', 'ecr check', 'image build']));
    expect(dockerOnly.commands).toContainEqual(expect.objectContaining({ call: expect.objectContaining({ command: 'image build', builtSbom: undefined }) }));
    expect(dockerOnly.plugins.some((p) => p.ref.startsWith('cache#'))).toBe(true);
  });

  it('attack 3: untrusted builds restore the dependency cache and never save it; the key carries OS, CPU and Node major', () => {
    const pr = cacheOf(planInput({ branch: 'main', pullRequest: 123 }, everything));
    // Every check job restores (the image jobs take the build job's artifacts instead).
    expect(pr.length).toBeGreaterThan(2);
    for (const cache of pr) {
      expect(cache.config).not.toHaveProperty('save');
      expect(cache.config).toMatchObject({ restore: 'file', 'key-extra': '-linux-x64-node24', 'soft-fail': true });
    }
    for (const cache of cacheOf(mainAll)) expect(cache.config).toMatchObject({ restore: 'file', save: 'file', 'key-extra': '-linux-x64-node24', 'soft-fail': true });
    const arm = reconfigured(mainAll, { config: { agents: { ...mainAll.config.agents, platform: 'linux-arm64' }, nodeImage: 'node:22.12.0-alpine' } });
    expect(cacheOf(arm)[0]?.config['key-extra']).toBe('-linux-arm64-node22');
  });

  it('attack 4: the Nx write token can live on a queue that runs only reviewed code', () => {
    // Pull-request checks and main checks never share a queue: agents.queue runs trusted builds only.
    const checkQueues = (input: PlanPipelineInput) => new Set(commandSteps(plan(input)).flatMap((s) => (s.meta.kind === 'nx-task' ? [s.agents['queue']] : [])));
    expect(checkQueues(planInput({ branch: 'feat/x', pullRequest: 5 }, everything))).toEqual(new Set(['untrusted']));
    expect(checkQueues(mainAll)).toEqual(new Set(['default']));
  });

  it.each(['overlays/production/kustomization.yaml', 'overlays/./production', './overlays/production/'])(
    'attack 5: a production overlay spelled %s still gets the block step',
    (overlay) => {
      const steps = allSteps(plan(reconfigured(release, { config: parseWorkspaceConfig({ deployTargets: [{ branch: 'release/*', overlay }] }) })));
      const deploy = steps.find((s) => s.meta.kind === 'deploy');
      expect(steps.find((s) => s.type === 'block')?.key).toBe('acme-api:approve-production');
      expect(deploy?.dependsOn).toContain('acme-api:approve-production');
      expect(deploy?.meta).toMatchObject({ overlay: 'overlays/production' });
    },
  );

  it("attack 6: a branch's package.json cannot grant itself deploy rights", () => {
    const input = planInput({ branch: 'feature/x' }, apiChange, lastPassed);
    const widened = input.projects.map((p) =>
      p.name === '@acme/api'
        ? { ...p, metadata: { engex: { repository: 'engex/halow', deployTargets: [{ branch: '**', overlay: 'overlays/production', approval: 'none' }] } } }
        : p,
    );
    // The services are resolved before planning (as io/generate.ts does): the widened config never reaches the planner.
    expect(() => reconfigured(input, { projects: widened })).toThrow(ConfigError);
    expect(() => reconfigured(input, { projects: widened })).toThrow(/apps\/api\/package\.json: nx\.metadata\.engex\.repository: "engex\/halow" is outside/);
    // And a branch outside trustedBranches never deploys, whatever its targets say.
    expect(commandSteps(plan(input)).filter((s) => s.meta.kind === 'deploy')).toEqual([]);
  });
});
