import { describe, expect, it } from 'vitest';
import type { CommandStep, EngexCiCall, ImageRef, Pipeline } from '../core/pipeline.js';
import { LocalPlanError, orderSteps, planLocalRun, readCachePlugin, type LocalRunContext } from './plan-local-run.js';
import { analyze, planInput } from '../../test/fixtures.js';
import { planPipeline } from '../core/plan.js';

const ECR = '460210468233.dkr.ecr.us-east-1.amazonaws.com';
const SHA = 'a'.repeat(40);
const image: ImageRef = { registry: ECR, repository: 'engex/halow', tag: SHA };
const ecrPlugin = { ref: 'ecr#v2.10.0', config: { login: true } };

function step(key: string, over: Partial<CommandStep>): CommandStep {
  return {
    type: 'command',
    key,
    label: key,
    commands: [],
    dependsOn: [],
    plugins: [],
    timeoutInMinutes: 10,
    agents: { queue: 'default' },
    retry: [],
    env: {},
    artifactPaths: [],
    meta: { kind: 'plan' },
    ...over,
  };
}

const setup = { kind: 'install' } as const;
const engexCi = (call: EngexCiCall) => ({ kind: 'engex-ci' as const, bin: ['npx', '--no', 'engex-ci'], call });
const nx = (project: string, target: string, setup?: boolean) => ({ kind: 'nx' as const, nx: ['npx', 'nx'], project, target, ...(setup ? { setup } : {}) });

const pipeline: Pipeline = {
  notify: [{ channel: '#engex-builds', if: 'build.state == "failed"' }],
  steps: [
    step('engex-plan', {
      commands: [{ kind: 'annotate', style: 'info', context: 'engex-plan', body: '# Plan' }],
    }),
    {
      type: 'group',
      key: 'halow',
      label: '@engex/halow',
      project: '@engex/halow',
      steps: [
        step('halow:deploy', {
          dependsOn: ['halow:test', 'halow:scan', 'halow:smoke'],
          commands: [
            setup,
            { kind: 'meta-data', op: 'get', key: 'engex:halow:digest', file: 'reports/deploy/halow-staging.digest' },
            engexCi({
              command: 'deploy bump',
              repo: 'https://github.com/highspot/halow-ops.git',
              overlay: 'overlays/staging',
              image: `${ECR}/engex/halow`,
              tag: SHA,
              project: '@engex/halow',
              digestFile: 'reports/deploy/halow-staging.digest',
              pinDigest: false,
            }),
          ],
          meta: {
            kind: 'deploy',
            project: '@engex/halow',
            service: 'halow',
            repo: 'https://github.com/highspot/halow-ops.git',
            overlay: 'overlays/staging',
            imageName: `${ECR}/engex/halow`,
            image,
          },
        }),
        step('halow:test', {
          commands: [setup, nx('@engex/halow', 'test')],
          artifactPaths: ['reports/junit/halow-test.xml'],
          meta: { kind: 'nx-task', project: '@engex/halow', target: 'test', taskId: '@engex/halow:test' },
        }),
        step('halow:build', {
          commands: [setup, nx('@engex/halow', 'build')],
          meta: { kind: 'nx-task', project: '@engex/halow', target: 'build', taskId: '@engex/halow:build' },
        }),
        step('halow:image', {
          dependsOn: ['halow:build'],
          plugins: [ecrPlugin],
          commands: [
            setup,
            nx('@engex/ci-lib', 'build', true),
            engexCi({ command: 'image build', project: '@engex/halow' }),
            engexCi({ command: 'image push', project: '@engex/halow' }),
          ],
          meta: { kind: 'image', project: '@engex/halow', service: 'halow', image },
        }),
        step('halow:scan', {
          dependsOn: ['halow:image'],
          plugins: [ecrPlugin],
          commands: [
            { kind: 'exec', argv: ['mkdir', '-p', 'reports/trivy'] },
            { kind: 'pull', image },
            { kind: 'trivy', target: 'image', image, containerImage: 'aquasec/trivy:0.58.2', report: 'reports/trivy/halow.json' },
            { kind: 'artifact-download', path: 'apps/halow/dist/sbom.cdx.json', step: 'halow:image' },
            { kind: 'trivy', target: 'sbom', sbom: 'apps/halow/dist/sbom.cdx.json', containerImage: 'aquasec/trivy:0.58.2', report: 'reports/trivy/halow.sbom.json' },
            {
              ...engexCi({
                command: 'scan report',
                args: ['reports/trivy/halow.json'],
                sbomReport: 'reports/trivy/halow.sbom.json',
                failOn: 'CRITICAL',
                ignoreUnfixed: false,
                annotation: 'reports/trivy/halow.md',
              }),
              deferFailure: true,
            },
            { kind: 'annotate', style: 'warning', context: 'trivy-halow', bodyFile: 'reports/trivy/halow.md' },
          ],
          meta: {
            kind: 'scan',
            project: '@engex/halow',
            service: 'halow',
            image,
            trivy: {
              version: '0.58.2',
              containerImage: 'aquasec/trivy:0.58.2',
              output: 'reports/trivy/halow.json',
              sbom: 'apps/halow/dist/sbom.cdx.json',
              sbomOutput: 'reports/trivy/halow.sbom.json',
            },
          },
        }),
        step('halow:smoke', {
          dependsOn: ['halow:image'],
          plugins: [ecrPlugin],
          commands: [engexCi({ command: 'image smoke', project: '@engex/halow' })],
          meta: { kind: 'smoke', project: '@engex/halow', service: 'halow', image },
        }),
      ],
    },
    step('after-halow', { dependsOn: ['halow'], commands: [{ kind: 'exec', argv: ['echo', 'done'] }] }),
  ],
};

const ctx: LocalRunContext = { registry: '127.0.0.1:5000', opsRepos: { halow: '/state/ops/halow-ops.git' } };

describe('planLocalRun', () => {
  it('keeps a block step as a waiting step, maps meta-data to the run store and verifies the pushed image here', () => {
    const target = {
      branch: 'release/*',
      overlay: 'overlays/production',
      pinDigest: true,
      approval: 'manual' as const,
      url: 'https://api.example.com',
      argocd: { server: 'https://argocd.example.com', application: 'api' },
    };
    const input = planInput({ branch: 'release/1.0' }, analyze(['apps/api/src/main.ts']));
    const generated = planPipeline({ ...input, config: { ...input.config, deployTargets: [target] } });
    const plan = planLocalRun(generated, { registry: '127.0.0.1:5000', opsRepos: { api: '/state/ops/api-ops.git' } });
    const view = plan.steps
      .filter((s) => /:(image|approve-|deploy-|verify-)/.test(s.key))
      .map((s) => ({
        key: s.key,
        ...(s.block !== undefined ? { block: s.block } : {}),
        ...(s.notes.length ? { notes: s.notes } : {}),
        actions: s.actions.flatMap((a) =>
          a.kind === 'meta-data'
            ? [`meta-data ${a.op} ${a.key} ${a.file}`]
            : a.kind === 'verify'
              ? [`verify ${a.image}: ${a.argv.slice(2).join(' ')}`]
              : a.kind === 'exec' && a.annotateOnFailure
                ? [`${a.argv.slice(2).join(' ')} (annotated on failure: ${a.annotateOnFailure.context})`]
                : [],
        ),
      }));
    expect(view).toMatchInlineSnapshot(`
      [
        {
          "actions": [
            "ecr check --project @acme/api --annotation reports/image/api-ecr.md (annotated on failure: ecr-api)",
            "meta-data set engex:api:digest reports/image/api.digest",
          ],
          "key": "acme-api:image",
          "notes": [
            "cache#v1.12.0 not used: the local checkout is already installed",
            "ECR login skipped: pushing to the local registry 127.0.0.1:5000",
          ],
        },
        {
          "actions": [],
          "block": "Deploy api at commit c0ffee0000000000000000000000000000000001 to overlays/production (https://github.com/highspot/api-ops.git).
      Image digest: the "image api" annotation (meta-data engex:api:digest).
      Scan summary: the trivy-api annotation and the artifact reports/trivy/api.md.",
          "key": "acme-api:approve-production",
        },
        {
          "actions": [
            "meta-data get engex:api:digest reports/deploy/api-production.digest",
            "meta-data set engex:api:production:ops-commit reports/deploy/api-production.ops-commit",
          ],
          "key": "acme-api:deploy-production",
          "notes": [
            "cache#v1.12.0 not used: the local checkout is already installed",
            "deploys to the local ops repo /state/ops/api-ops.git instead of https://github.com/highspot/api-ops.git",
          ],
        },
        {
          "actions": [
            "meta-data get engex:api:production:ops-commit reports/deploy/api-production.ops-commit",
            "verify 127.0.0.1:5000/engex/api:c0ffee0000000000000000000000000000000001: deploy verify --revision c0ffee0000000000000000000000000000000001 --timeout 10m",
          ],
          "key": "acme-api:verify-production",
          "notes": [
            "cache#v1.12.0 not used: the local checkout is already installed",
            "verifies the pushed image run here on a free port instead of https://api.example.com (no ArgoCD)",
          ],
        },
      ]
    `);
  });

  it('orders by depends_on, maps Buildkite-only parts and skips Trivy when it is absent', () => {
    const plan = planLocalRun(pipeline, ctx);
    const view = plan.steps.map((s) => ({
      key: s.key,
      after: s.dependsOn.join(' '),
      ...(s.skip ? { skip: s.skip } : {}),
      ...(s.notes.length ? { notes: s.notes } : {}),
      actions: s.actions.map((a) =>
        a.kind === 'exec'
          ? `${a.argv.join(' ')}${a.stdin ? ` < ${a.stdin}` : ''}${a.stdout ? ` > ${a.stdout}` : ''}${a.deferFailure ? ' (deferred failure)' : ''}${a.once ? ' (once per run)' : ''}`
          : a.kind === 'omit'
            ? `omit: ${a.command} (${a.reason})`
            : a.kind === 'meta-data'
              ? `meta-data ${a.op} ${a.key} ${a.file}`
              : a.kind === 'verify'
                ? `verify ${a.image}: ${a.argv.join(' ')}`
                : a.kind === 'annotate'
                  ? `annotate ${a.context} [${a.style}] ${a.bodyFile ?? JSON.stringify(a.body)}`
                  : a.kind,
      ),
    }));
    expect(view).toMatchInlineSnapshot(`
      [
        {
          "actions": [
            "annotate engex-plan [info] "# Plan"",
          ],
          "after": "",
          "key": "engex-plan",
        },
        {
          "actions": [
            "omit: npm ci --no-audit --no-fund (the local checkout is already installed)",
            "npx nx run @engex/halow:test --outputStyle=static",
          ],
          "after": "",
          "key": "halow:test",
        },
        {
          "actions": [
            "omit: npm ci --no-audit --no-fund (the local checkout is already installed)",
            "npx nx run @engex/halow:build --outputStyle=static",
          ],
          "after": "",
          "key": "halow:build",
        },
        {
          "actions": [
            "omit: npm ci --no-audit --no-fund (the local checkout is already installed)",
            "npx nx run @engex/ci-lib:build --outputStyle=static (once per run)",
            "npx --no engex-ci image build --project @engex/halow",
            "npx --no engex-ci image push --project @engex/halow",
          ],
          "after": "halow:build",
          "key": "halow:image",
          "notes": [
            "ECR login skipped: pushing to the local registry 127.0.0.1:5000",
          ],
        },
        {
          "actions": [],
          "after": "halow:image",
          "key": "halow:scan",
          "notes": [
            "ECR login skipped: pushing to the local registry 127.0.0.1:5000",
          ],
          "skip": "trivy is not on PATH: install Trivy 0.58.2 (https://trivy.dev) to scan locally; not scanned, not passed: neither the image (OS/runtime) nor its SBOM (bundled npm packages; the image step wrote and schema-validated it)",
        },
        {
          "actions": [
            "npx --no engex-ci image smoke --project @engex/halow",
          ],
          "after": "halow:image",
          "key": "halow:smoke",
          "notes": [
            "ECR login skipped: pushing to the local registry 127.0.0.1:5000",
          ],
        },
        {
          "actions": [
            "omit: npm ci --no-audit --no-fund (the local checkout is already installed)",
            "meta-data get engex:halow:digest reports/deploy/halow-staging.digest",
            "npx --no engex-ci deploy bump --repo /state/ops/halow-ops.git --overlay overlays/staging --image 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow --tag aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa --digest-file reports/deploy/halow-staging.digest --project @engex/halow",
          ],
          "after": "halow:test halow:scan halow:smoke",
          "key": "halow:deploy",
          "notes": [
            "deploys to the local ops repo /state/ops/halow-ops.git instead of https://github.com/highspot/halow-ops.git",
          ],
        },
        {
          "actions": [
            "echo done",
          ],
          "after": "halow:deploy halow:test halow:build halow:image halow:scan halow:smoke",
          "key": "after-halow",
        },
      ]
    `);
  });

  it('runs a local trivy on the image in the local registry and on the SBOM in the checkout, downloading nothing', () => {
    const plan = planLocalRun(pipeline, { ...ctx, trivy: '/usr/local/bin/trivy' });
    const scan = plan.steps.find((s) => s.key === 'halow:scan')!;
    expect(scan.skip).toBeUndefined();
    expect(
      scan.actions.map((a) => (a.kind === 'exec' ? a.argv.join(' ') + (a.stdout ? ` > ${a.stdout}` : '') : a.kind === 'omit' ? `omitted: ${a.command} (${a.reason})` : a.kind)),
    ).toMatchInlineSnapshot(`
      [
        "mkdir -p reports/trivy",
        "docker pull --quiet 127.0.0.1:5000/engex/halow:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "/usr/local/bin/trivy image --format json --quiet --scanners vuln --exit-code 0 127.0.0.1:5000/engex/halow:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa > reports/trivy/halow.json",
        "omitted: buildkite-agent artifact download apps/halow/dist/sbom.cdx.json . --step halow:image (the image step wrote apps/halow/dist/sbom.cdx.json in this checkout)",
        "/usr/local/bin/trivy sbom --format json --quiet --scanners vuln --exit-code 0 apps/halow/dist/sbom.cdx.json > reports/trivy/halow.sbom.json",
        "npx --no engex-ci scan report reports/trivy/halow.json --fail-on CRITICAL --no-ignore-unfixed --annotation reports/trivy/halow.md --sbom-report reports/trivy/halow.sbom.json",
        "annotate",
      ]
    `);
  });

  it("fresh agents: restore the lockfile's node_modules, guard the install, prepare their own tools, download artifacts", () => {
    const input = planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts']));
    const plan = planLocalRun(planPipeline(input), { ...ctx, trivy: '/usr/local/bin/trivy', opsRepos: { api: '/state/ops/api-ops.git' }, freshAgents: true });
    const view = plan.steps
      .filter((s) => /:(build|image|scan)$/.test(s.key))
      .map((s) => ({
        key: s.key,
        cache: s.cache,
        notes: s.notes.filter((n) => n.startsWith('cache#')),
        actions: s.actions
          .slice(0, 4)
          .map((a) =>
            a.kind === 'install'
              ? `install unless ${a.marker}: ${a.argv.join(' ')}`
              : a.kind === 'exec'
                ? `${a.argv.join(' ')}${a.once ? ' (once per run)' : ''}`
                : a.kind === 'artifact-download'
                  ? `artifact-download ${a.path} from ${a.step}`
                  : a.kind,
          ),
      }));
    expect(view).toMatchInlineSnapshot(`
      [
        {
          "actions": [
            "install unless node_modules/.package-lock.json: npm ci --no-audit --no-fund",
            "npx nx run @acme/api:build --outputStyle=static",
          ],
          "cache": {
            "compression": "zstd",
            "manifest": [
              "package-lock.json",
            ],
            "path": "node_modules",
            "restore": true,
            "save": true,
          },
          "key": "acme-api:build",
          "notes": [
            "cache#v1.12.0: node_modules keyed by package-lock.json, from the local dependency cache",
          ],
        },
        {
          "actions": [
            "install unless node_modules/.package-lock.json: npm ci --no-audit --no-fund",
            "npx nx run @engex/ci-lib:build --outputStyle=static",
            "mkdir -p reports/image",
            "node libs/ci-lib/dist/engex-ci.cjs ecr check --project @acme/api --annotation reports/image/api-ecr.md",
          ],
          "cache": {
            "compression": "zstd",
            "manifest": [
              "package-lock.json",
            ],
            "path": "node_modules",
            "restore": true,
            "save": true,
          },
          "key": "acme-api:image",
          "notes": [
            "cache#v1.12.0: node_modules keyed by package-lock.json, from the local dependency cache",
          ],
        },
        {
          "actions": [
            "install unless node_modules/.package-lock.json: npm ci --no-audit --no-fund",
            "npx nx run @engex/ci-lib:build --outputStyle=static",
            "mkdir -p reports/trivy",
            "docker pull --quiet 127.0.0.1:5000/engex/api:c0ffee0000000000000000000000000000000001",
          ],
          "cache": {
            "compression": "zstd",
            "manifest": [
              "package-lock.json",
            ],
            "path": "node_modules",
            "restore": true,
            "save": true,
          },
          "key": "acme-api:scan",
          "notes": [
            "cache#v1.12.0: node_modules keyed by package-lock.json, from the local dependency cache",
          ],
        },
      ]
    `);
    const scan = plan.steps.find((s) => s.key.endsWith(':scan'))!;
    expect(scan.actions).toContainEqual({ kind: 'artifact-download', path: 'apps/api/dist/sbom.cdx.json', step: 'acme-api:image' });
    const inPlace = planLocalRun(planPipeline(input), { ...ctx, opsRepos: { api: '/state/ops/api-ops.git' } });
    const build = inPlace.steps.find((s) => s.key.endsWith(':build'))!;
    expect(build.cache).toBeUndefined();
    expect(build.notes).toContain('cache#v1.12.0 not used: the local checkout is already installed');
    expect(build.actions[0]).toMatchObject({ kind: 'omit' });
  });

  it("reads the cache plugin's configuration, or says what cannot be emulated", () => {
    expect(readCachePlugin({ path: 'node_modules', manifest: 'package-lock.json', restore: 'file', save: 'file', compression: 'zstd' })).toEqual({
      path: 'node_modules',
      manifest: ['package-lock.json'],
      restore: true,
      save: true,
      compression: 'zstd',
    });
    expect(readCachePlugin({ path: '', manifest: [1], restore: 'pipeline', compression: 'lz4' })).toBe(
      'path: expected a folder, got ""; manifest: expected a file or a list of files, got [1]; restore: only the file level is emulated locally, got "pipeline"; compression: expected none, tgz or zstd, got "lz4"',
    );
    const odd: Pipeline = { notify: [], steps: [step('x', { plugins: [{ ref: 'cache#v1.12.0', config: { path: 'node_modules' } }] })] };
    expect(planLocalRun(odd, { ...ctx, freshAgents: true }).steps[0]!.skip).toBe('plugin cache#v1.12.0: manifest: expected a file or a list of files, got undefined');
  });

  it('prints Slack notifications instead of sending them', () => {
    expect(planLocalRun(pipeline, ctx).notify).toEqual(pipeline.notify);
  });

  it('runs a project job (stepGranularity "project") command by command, each failure deferred to the end', () => {
    const input = planInput({}, analyze(['libs/util/src/index.ts']));
    const generated = planPipeline({ ...input, config: { ...input.config, stepGranularity: 'project' } });
    const job = planLocalRun(generated, ctx).steps.find((s) => s.key === 'acme-util:tasks');
    expect(job?.actions.map((a) => (a.kind === 'exec' ? `${a.argv.join(' ')}${a.deferFailure ? ' (deferred failure)' : ''}` : a.kind))).toMatchInlineSnapshot(`
      [
        "omit",
        "npx nx run-many --targets lint,test,build --projects @acme/util --outputStyle=static (deferred failure)",
      ]
    `);
  });

  it('skips a step whose plugin has no local equivalent, with the reason', () => {
    const odd: Pipeline = { notify: [], steps: [step('x', { plugins: [{ ref: 'custom/thing#v1.0.0', config: {} }] })] };
    expect(planLocalRun(odd, ctx).steps[0]!.skip).toBe('plugin custom/thing#v1.0.0 has no local equivalent');
  });

  it('runs a test step with the Test Engine plugin, noting that the upload is Buildkite-only', () => {
    const collector = { ref: 'test-collector#v1.11.0', config: { files: 'apps/halow/reports/junit.xml', format: 'junit', 'annotation-link': true } };
    const test: Pipeline = {
      notify: [],
      steps: [step('halow:test', { plugins: [collector], commands: [nx('@engex/halow', 'test')], artifactPaths: ['apps/halow/reports/junit.xml'] })],
    };
    const [local] = planLocalRun(test, ctx).steps;
    expect(local).toMatchObject({
      actions: [{ kind: 'exec', argv: ['npx', 'nx', 'run', '@engex/halow:test', '--outputStyle=static'] }],
      notes: ["Test Engine upload skipped (Buildkite only): the JUnit report stays in this run's artifacts"],
      artifactPaths: ['apps/halow/reports/junit.xml'],
    });
    expect(local!.skip).toBeUndefined();
  });
});

describe('orderSteps', () => {
  it('keeps pipeline order among ready steps', () => {
    const order = orderSteps([
      { key: 'c', dependsOn: ['b'] },
      { key: 'a', dependsOn: [] },
      { key: 'b', dependsOn: ['a'] },
      { key: 'd', dependsOn: [] },
    ]);
    expect(order.map((s) => s.key)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('rejects cycles and unknown dependencies', () => {
    expect(() =>
      orderSteps([
        { key: 'a', dependsOn: ['b'] },
        { key: 'b', dependsOn: ['a'] },
      ]),
    ).toThrow(LocalPlanError);
    expect(() => orderSteps([{ key: 'a', dependsOn: ['zz'] }])).toThrow(/unknown step zz/);
  });
});
