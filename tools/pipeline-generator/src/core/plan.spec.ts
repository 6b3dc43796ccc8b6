import { ConfigError, parseWorkspaceConfig } from '@engex/workspace-config';
import { describe, expect, it } from 'vitest';
import { BASE_SHA, analyze, planInput, reconfigured } from '../../test/fixtures.js';
import { allSteps, commandSteps } from './pipeline.js';
import { planPipeline } from './plan.js';
import { CHECKS_GATE_KEY } from './phases/job-keys.js';
import { renderPipeline } from './render.js';
import { validatePipeline } from './validate.js';

const lastPassed = { rule: 'last-passed-build' as const, base: BASE_SHA, reason: 'last passed build on "main" was at ba5e00000000.', notes: [] };

function yaml(input: Parameters<typeof planPipeline>[0]): string {
  const pipeline = planPipeline(input);
  expect(validatePipeline([pipeline])).toEqual([]);
  return renderPipeline(pipeline, 'yaml');
}

function outline(input: Parameters<typeof planPipeline>[0]): string[] {
  return commandSteps(planPipeline(input)).map((s) => `${s.key}${s.dependsOn.length ? ` <- ${s.dependsOn.join(' ')}` : ''}`);
}

describe('planPipeline', () => {
  it('pull request: the service change builds, scans and smoke-tests its image, and never deploys', () => {
    expect(yaml(planInput({ branch: 'feat/login', pullRequest: 42 }, analyze(['apps/api/src/main.ts'])))).toMatchInlineSnapshot(`
      "agents:
        queue: untrusted
      steps:
        - label: ":pipeline: Plan"
          key: engex-plan
          commands:
            - |-
              buildkite-agent annotate --style info --context engex-plan '### engex pipeline plan

              **Base:** \`ba5e00000000\` (pull-request): pull request #42: merge-base of origin/main and HEAD.

              **Zone:** untrusted: pull request #42: pull-request code is unreviewed; every step on untrusted: images are built, smoked and scanned there and never pushed, no deploy, the dependency cache is restored but never saved.

              **Affected:** 1 of 2 projects, 5 jobs.

              | Project | Why |
              | --- | --- |
              | @acme/api | changed: apps/api/src/main.ts |

              **Skipped:**
              - \`@acme/api\` deploy: pull request #42 builds never deploy

              1 unaffected project(s) do not run.'
          timeout_in_minutes: 5
          retry:
            automatic:
              - exit_status: -1
                limit: 2
              - exit_status: 255
                limit: 2
        - group: "@acme/api"
          key: acme-api
          steps:
            - label: lint @acme/api
              key: acme-api:lint
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @acme/api:lint --outputStyle=static
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 10
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
            - label: test @acme/api
              key: acme-api:test
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @acme/api:test --outputStyle=static
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
                - test-collector#v1.11.0:
                    files: apps/api/reports/junit.xml
                    format: junit
                    annotation-link: true
              timeout_in_minutes: 10
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
              artifact_paths:
                - apps/api/reports/junit.xml
            - label: build @acme/api
              key: acme-api:build
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @acme/api:build --outputStyle=static
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 10
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
            - label: ":docker: image api (build, smoke, scan; not pushed)"
              key: acme-api:image
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @engex/ci-lib:build --outputStyle=static
                - mkdir -p reports/image reports/trivy
                - npx nx run @acme/api:build --outputStyle=static
                - node libs/ci-lib/dist/engex-ci.cjs image build --project @acme/api --source-date-epoch commit
                - node libs/ci-lib/dist/engex-ci.cjs image smoke --project @acme/api --local
                - docker run --rm -v /var/run/docker.sock:/var/run/docker.sock -v engex-trivy-cache:/root/.cache/trivy aquasec/trivy:0.58.2 image --format json --quiet --scanners vuln --exit-code 0 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/api:c0ffee0000000000000000000000000000000001 > reports/trivy/api.json
                - docker run --rm -v "$$PWD"/apps/api/dist/sbom.cdx.json:/sbom/sbom.cdx.json:ro -v engex-trivy-cache:/root/.cache/trivy aquasec/trivy:0.58.2 sbom --format json --quiet --scanners vuln --exit-code 0 /sbom/sbom.cdx.json > reports/trivy/api.sbom.json
                - node libs/ci-lib/dist/engex-ci.cjs scan report reports/trivy/api.json --fail-on HIGH,CRITICAL --ignore-unfixed --annotation reports/trivy/api.md --sbom-report reports/trivy/api.sbom.json || ENGEX_DEFERRED_STATUS=$$?
                - buildkite-agent annotate --style warning --context trivy-api < reports/trivy/api.md
                - exit "$\${ENGEX_DEFERRED_STATUS:-0}"
              depends_on:
                - acme-api:build
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 30
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
              artifact_paths:
                - apps/api/dist/sbom.cdx.json
                - reports/trivy/api.json
                - reports/trivy/api.sbom.json
                - reports/trivy/api.md
      notify:
        - slack:
            channels:
              - "#engex-builds"
          if: build.state == "failed"
      "
    `);
  });

  it('default branch: a library change reaches the service through its dependency and deploys to staging', () => {
    expect(yaml(planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts']), lastPassed))).toMatchInlineSnapshot(`
      "agents:
        queue: default
      steps:
        - label: ":pipeline: Plan"
          key: engex-plan
          commands:
            - |-
              buildkite-agent annotate --style info --context engex-plan '### engex pipeline plan

              **Base:** \`ba5e00000000\` (last-passed-build): last passed build on "main" was at ba5e00000000.

              **Zone:** trusted: branch "main" is trusted ("main", "release/*") and not a pull request; checks on default, scan and smoke on default, image push and deploys on deploy; the dependency cache is saved.

              **Affected:** 2 of 2 projects, 11 jobs.

              | Project | Why |
              | --- | --- |
              | @acme/api | depends on @acme/util |
              | @acme/util | changed: libs/util/src/index.ts |

              **Skipped:**
              - \`@acme/api:lint\`: no change reaches its inputs

              **Unverified:** nothing checks that these deploys run (no \`url\` or \`argocd\` in the deploy target):
              - \`@acme/api\` → \`overlays/staging\`: unverified'
          timeout_in_minutes: 5
          retry:
            automatic:
              - exit_status: -1
                limit: 2
              - exit_status: 255
                limit: 2
        - group: "@acme/util"
          key: acme-util
          steps:
            - label: lint @acme/util
              key: acme-util:lint
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @acme/util:lint --outputStyle=static
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 10
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
            - label: test @acme/util
              key: acme-util:test
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @acme/util:test --outputStyle=static
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
                - test-collector#v1.11.0:
                    files: libs/util/reports/junit.xml
                    format: junit
                    annotation-link: true
              timeout_in_minutes: 10
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
              artifact_paths:
                - libs/util/reports/junit.xml
            - label: build @acme/util
              key: acme-util:build
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @acme/util:build --outputStyle=static
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 10
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
        - group: "@acme/api"
          key: acme-api
          steps:
            - label: test @acme/api
              key: acme-api:test
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @acme/api:test --outputStyle=static
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
                - test-collector#v1.11.0:
                    files: apps/api/reports/junit.xml
                    format: junit
                    annotation-link: true
              timeout_in_minutes: 10
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
              artifact_paths:
                - apps/api/reports/junit.xml
            - label: build @acme/api
              key: acme-api:build
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @acme/api:build --outputStyle=static
              depends_on:
                - acme-util:build
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 10
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
            - label: ":docker: image api"
              key: acme-api:image
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @engex/ci-lib:build --outputStyle=static
                - mkdir -p reports/image
                - "node libs/ci-lib/dist/engex-ci.cjs ecr check --project @acme/api --annotation reports/image/api-ecr.md || { ENGEX_FAILED_STATUS=$$?; buildkite-agent annotate --style error --context ecr-api < reports/image/api-ecr.md; exit \\"$$ENGEX_FAILED_STATUS\\"; }"
                - npx nx run @acme/api:build --outputStyle=static
                - node libs/ci-lib/dist/engex-ci.cjs image build --project @acme/api --source-date-epoch commit
                - node libs/ci-lib/dist/engex-ci.cjs image push --project @acme/api --digest-file reports/image/api.digest
                - buildkite-agent meta-data set engex:api:digest < reports/image/api.digest
                - "buildkite-agent annotate --style info --context image-api '**api** pushed \`460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/api:c0ffee0000000000000000000000000000000001\`, digest (meta-data \`engex:api:digest\`): '"
                - buildkite-agent annotate --style info --context image-api --append < reports/image/api.digest
              depends_on:
                - acme-api:build
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
                - ecr#v2.10.0:
                    login: true
                    account-ids: "460210468233"
                    region: us-east-1
              agents:
                queue: deploy
              timeout_in_minutes: 20
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
                  - exit_status: 4
                    limit: 2
              artifact_paths:
                - reports/image/api.digest
                - reports/image/api-ecr.md
                - apps/api/dist/sbom.cdx.json
            - label: ":shield: scan api"
              key: acme-api:scan
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @engex/ci-lib:build --outputStyle=static
                - mkdir -p reports/trivy
                - docker pull --quiet 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/api:c0ffee0000000000000000000000000000000001
                - buildkite-agent artifact download apps/api/dist/sbom.cdx.json . --step acme-api:image
                - docker run --rm -v /var/run/docker.sock:/var/run/docker.sock -v engex-trivy-cache:/root/.cache/trivy aquasec/trivy:0.58.2 image --format json --quiet --scanners vuln --exit-code 0 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/api:c0ffee0000000000000000000000000000000001 > reports/trivy/api.json
                - docker run --rm -v "$$PWD"/apps/api/dist/sbom.cdx.json:/sbom/sbom.cdx.json:ro -v engex-trivy-cache:/root/.cache/trivy aquasec/trivy:0.58.2 sbom --format json --quiet --scanners vuln --exit-code 0 /sbom/sbom.cdx.json > reports/trivy/api.sbom.json
                - node libs/ci-lib/dist/engex-ci.cjs scan report reports/trivy/api.json --fail-on HIGH,CRITICAL --ignore-unfixed --annotation reports/trivy/api.md --sbom-report reports/trivy/api.sbom.json || ENGEX_DEFERRED_STATUS=$$?
                - buildkite-agent annotate --style warning --context trivy-api < reports/trivy/api.md
                - exit "$\${ENGEX_DEFERRED_STATUS:-0}"
              depends_on:
                - acme-api:image
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
                - ecr#v2.10.0:
                    login: true
                    account-ids: "460210468233"
                    region: us-east-1
              timeout_in_minutes: 10
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
                  - exit_status: 4
                    limit: 2
              artifact_paths:
                - reports/trivy/api.json
                - reports/trivy/api.sbom.json
                - reports/trivy/api.md
            - label: ":fire_engine: smoke api"
              key: acme-api:smoke
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @engex/ci-lib:build --outputStyle=static
                - node libs/ci-lib/dist/engex-ci.cjs image smoke --project @acme/api
              depends_on:
                - acme-api:image
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
                - ecr#v2.10.0:
                    login: true
                    account-ids: "460210468233"
                    region: us-east-1
              timeout_in_minutes: 10
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
            - label: ":rocket: deploy api to overlays/staging"
              key: acme-api:deploy-staging
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @engex/ci-lib:build --outputStyle=static
                - mkdir -p reports/deploy
                - buildkite-agent meta-data get engex:api:digest > reports/deploy/api-staging.digest
                - node libs/ci-lib/dist/engex-ci.cjs deploy bump --repo https://github.com/highspot/api-ops.git --overlay overlays/staging --image 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/api --tag c0ffee0000000000000000000000000000000001 --digest-file reports/deploy/api-staging.digest --project @acme/api
              depends_on:
                - engex-checks-passed
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              agents:
                queue: deploy
              timeout_in_minutes: 5
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
                  - exit_status: 4
                    limit: 2
                manual:
                  permit_on_passed: false
              concurrency_group: engex-deploy/https://github.com/highspot/api-ops.git
              concurrency: 1
        - label: ":vertical_traffic_light: checks passed"
          key: engex-checks-passed
          commands:
            - "echo 'All 7 checks of this build passed: deploys may start.'"
          depends_on:
            - acme-api:test
            - acme-api:build
            - acme-api:scan
            - acme-api:smoke
            - acme-util:lint
            - acme-util:test
            - acme-util:build
          timeout_in_minutes: 5
          retry:
            automatic:
              - exit_status: -1
                limit: 2
              - exit_status: 255
                limit: 2
      notify:
        - slack:
            channels:
              - "#engex-builds"
          if: build.state == "failed"
      "
    `);
  });

  it('release branch: deploys to the production overlay, one bump at a time per ops repo', () => {
    const input = planInput({ branch: 'release/1.4' }, analyze(['apps/api/src/main.ts']), { ...lastPassed, reason: 'last passed build on "release/1.4" was at ba5e00000000.' });
    expect(outline(input)).toMatchInlineSnapshot(`
      [
        "engex-plan",
        "acme-api:lint",
        "acme-api:test",
        "acme-api:build",
        "acme-api:image <- acme-api:build",
        "acme-api:scan <- acme-api:image",
        "acme-api:smoke <- acme-api:image",
        "acme-api:deploy-production <- engex-checks-passed acme-api:approve-production",
        "engex-checks-passed <- acme-api:lint acme-api:test acme-api:build acme-api:scan acme-api:smoke",
      ]
    `);
    const deploy = commandSteps(planPipeline(input)).find((s) => s.meta.kind === 'deploy');
    expect(renderPipeline({ steps: deploy ? [deploy] : [], notify: [] }, 'yaml')).toMatchInlineSnapshot(`
      "agents:
        queue: deploy
      steps:
        - label: ":rocket: deploy api to overlays/production"
          key: acme-api:deploy-production
          commands:
            - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
            - npx nx run @engex/ci-lib:build --outputStyle=static
            - mkdir -p reports/deploy
            - buildkite-agent meta-data get engex:api:digest > reports/deploy/api-production.digest
            - node libs/ci-lib/dist/engex-ci.cjs deploy bump --repo https://github.com/highspot/api-ops.git --overlay overlays/production --image 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/api --tag c0ffee0000000000000000000000000000000001 --digest-file reports/deploy/api-production.digest --project @acme/api
          depends_on:
            - engex-checks-passed
            - acme-api:approve-production
          plugins:
            - cache#v1.12.0:
                backend: s3
                manifest: package-lock.json
                path: node_modules
                restore: file
                save: file
                compression: zstd
                key-extra: "-linux-x64-node24"
                soft-fail: true
          timeout_in_minutes: 5
          retry:
            automatic:
              - exit_status: -1
                limit: 2
              - exit_status: 255
                limit: 2
              - exit_status: 4
                limit: 2
            manual:
              permit_on_passed: false
          concurrency_group: engex-deploy/https://github.com/highspot/api-ops.git
          concurrency: 1
      "
    `);
  });

  it('tag build: everything runs and nothing deploys', () => {
    const input = planInput({ branch: 'v1.4.0', tag: 'v1.4.0' }, analyze([], { all: 'no base: tag build ("v1.4.0"): a release rebuilds and tags every service.' }), {
      rule: 'none',
      reason: 'tag build ("v1.4.0"): a release rebuilds and tags every service.',
      notes: [],
    });
    expect(outline(input)).toMatchInlineSnapshot(`
      [
        "engex-plan",
        "acme-util:lint",
        "acme-util:test",
        "acme-util:build",
        "acme-api:lint",
        "acme-api:test",
        "acme-api:build <- acme-util:build",
        "acme-api:image <- acme-api:build",
      ]
    `);
    expect(yaml(input).split('\n').slice(0, 30).join('\n')).toMatchInlineSnapshot(`
      "agents:
        queue: untrusted
      steps:
        - label: ":pipeline: Plan"
          key: engex-plan
          commands:
            - |-
              buildkite-agent annotate --style info --context engex-plan '### engex pipeline plan

              **Base:** none, so everything runs (none): tag build ("v1.4.0"): a release rebuilds and tags every service.

              **Zone:** untrusted: tag "v1.4.0" matches no trusted branch ("main", "release/*"); every step on untrusted: images are built, smoked and scanned there and never pushed, no deploy, the dependency cache is restored but never saved.

              **Affected:** 2 of 2 projects, 8 jobs.

              | Project | Why |
              | --- | --- |
              | @acme/api | no base: tag build ("v1.4.0"): a release rebuilds and tags every service. |
              | @acme/util | no base: tag build ("v1.4.0"): a release rebuilds and tags every service. |

              **Skipped:**
              - \`@acme/api\` deploy: tag builds never deploy'
          timeout_in_minutes: 5
          retry:
            automatic:
              - exit_status: -1
                limit: 2
              - exit_status: 255
                limit: 2
        - group: "@acme/util""
    `);
  });

  it('nothing affected: one valid step that says so', () => {
    expect(yaml(planInput({ branch: 'feat/docs', pullRequest: 7 }, analyze(['README.md'])))).toMatchInlineSnapshot(`
      "agents:
        queue: untrusted
      steps:
        - label: ":white_check_mark: Nothing affected"
          key: engex-plan
          commands:
            - |-
              buildkite-agent annotate --style info --context engex-plan '### engex pipeline plan

              **Base:** \`ba5e00000000\` (pull-request): pull request #42: merge-base of origin/main and HEAD.

              **Zone:** untrusted: pull request #7: pull-request code is unreviewed; every step on untrusted: images are built, smoked and scanned there and never pushed, no deploy, the dependency cache is restored but never saved.

              **Nothing affected.** 1 changed file(s) reach no project of 2.
              - \`README.md\`'
            - "echo 'Nothing affected by this change: no project, task or image to run.'"
          timeout_in_minutes: 5
          retry:
            automatic:
              - exit_status: -1
                limit: 2
              - exit_status: 255
                limit: 2
      notify:
        - slack:
            channels:
              - "#engex-builds"
          if: build.state == "failed"
      "
    `);
  });

  it('everything (--all on the default branch): every task, every image, and the deploy', () => {
    const input = planInput({ branch: 'main' }, analyze([], { all: '--all' }), { rule: 'all', reason: '--all: every project runs.', notes: [] });
    expect(outline(input)).toMatchInlineSnapshot(`
      [
        "engex-plan",
        "acme-util:lint",
        "acme-util:test",
        "acme-util:build",
        "acme-api:lint",
        "acme-api:test",
        "acme-api:build <- acme-util:build",
        "acme-api:image <- acme-api:build",
        "acme-api:scan <- acme-api:image",
        "acme-api:smoke <- acme-api:image",
        "acme-api:deploy-staging <- engex-checks-passed",
        "engex-checks-passed <- acme-api:lint acme-api:test acme-api:build acme-api:scan acme-api:smoke acme-util:lint acme-util:test acme-util:build",
      ]
    `);
  });

  it('a spec-only change runs the tests but builds no image: production inputs did not change', () => {
    const input = planInput({ branch: 'main' }, analyze(['apps/api/src/main.spec.ts']), lastPassed);
    expect(outline(input)).toMatchInlineSnapshot(`
      [
        "engex-plan",
        "acme-api:lint",
        "acme-api:test",
      ]
    `);
    const first = commandSteps(planPipeline(input))[0]?.commands[0];
    const annotation = first?.kind === 'annotate' ? first.body : undefined;
    expect(annotation).toContain('`@acme/api:build`: no change reaches its inputs');
    expect(annotation).toContain('`@acme/api` image: no build input changed (only non-production files did)');
  });

  it('a Dockerfile change rebuilds images even when no build input changed', () => {
    const input = planInput({ branch: 'feat/base-image', pullRequest: 9 }, analyze(['docker/Dockerfile', 'apps/api/src/main.spec.ts']));
    expect(outline(input)).toMatchInlineSnapshot(`
      [
        "engex-plan",
        "acme-api:lint",
        "acme-api:test",
        "acme-api:image",
      ]
    `);
  });

  it("the shared Dockerfile, in no project's inputs, rebuilds every service image on its own", () => {
    const input = planInput({ branch: 'main' }, analyze(['docker/Dockerfile']), lastPassed);
    expect(outline(input)).toMatchInlineSnapshot(`
      [
        "engex-plan",
        "acme-api:image",
        "acme-api:scan <- acme-api:image",
        "acme-api:smoke <- acme-api:image",
        "acme-api:deploy-staging <- engex-checks-passed",
        "engex-checks-passed <- acme-api:scan acme-api:smoke",
      ]
    `);
    const first = commandSteps(planPipeline(input))[0]?.commands[0];
    const annotation = first?.kind === 'annotate' ? first.body : undefined;
    expect(annotation).toContain('| @acme/api | image only: image inputs changed: docker/Dockerfile |');
  });

  it('is deterministic', () => {
    const input = planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts']), lastPassed);
    expect(renderPipeline(planPipeline(input), 'json')).toBe(renderPipeline(planPipeline(input), 'json'));
  });
});

describe('deploys: every target, gates, proof', () => {
  const staging = { branch: 'main', overlay: 'overlays/staging', pinDigest: false, approval: 'none' as const };
  /** Only the deploy-side steps (approval, deploy, verify), rendered as Buildkite YAML. */
  function deployYaml(input: Parameters<typeof planPipeline>[0]): string {
    const pipeline = planPipeline(input);
    expect(validatePipeline([pipeline])).toEqual([]);
    const steps = pipeline.steps.flatMap((s) =>
      s.type === 'group' ? [{ ...s, steps: s.steps.filter((c) => /:(approve|deploy|verify)-/.test(c.key)) }].filter((g) => g.steps.length > 0) : [],
    );
    return renderPipeline({ steps, notify: [] }, 'yaml');
  }
  const withTargets = (targets: Parameters<typeof planPipeline>[0]['config']['deployTargets'], input: Parameters<typeof planPipeline>[0]) =>
    reconfigured(input, { config: { deployTargets: targets } });

  it('main with two staging targets: one deploy each, one ops-repo concurrency group, pinned digest and verify where configured', () => {
    const input = withTargets(
      [
        { ...staging, url: 'https://api.staging.example.com', argocd: { server: 'https://argocd.example.com', application: 'api-staging' } },
        { ...staging, overlay: 'overlays/staging-eu', pinDigest: true },
        { branch: 'release/*', overlay: 'overlays/production', pinDigest: false, approval: 'manual' },
      ],
      planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts']), lastPassed),
    );
    expect(deployYaml(input)).toMatchInlineSnapshot(`
      "agents:
        queue: deploy
      steps:
        - group: "@acme/api"
          key: acme-api
          steps:
            - label: ":rocket: deploy api to overlays/staging"
              key: acme-api:deploy-staging
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @engex/ci-lib:build --outputStyle=static
                - mkdir -p reports/deploy
                - buildkite-agent meta-data get engex:api:digest > reports/deploy/api-staging.digest
                - node libs/ci-lib/dist/engex-ci.cjs deploy bump --repo https://github.com/highspot/api-ops.git --overlay overlays/staging --image 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/api --tag c0ffee0000000000000000000000000000000001 --digest-file reports/deploy/api-staging.digest --ops-commit-file reports/deploy/api-staging.ops-commit --project @acme/api
                - buildkite-agent meta-data set engex:api:staging:ops-commit < reports/deploy/api-staging.ops-commit
              depends_on:
                - engex-checks-passed
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 5
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
                  - exit_status: 4
                    limit: 2
                manual:
                  permit_on_passed: false
              concurrency_group: engex-deploy/https://github.com/highspot/api-ops.git
              concurrency: 1
            - label: ":mag: verify api in overlays/staging"
              key: acme-api:verify-staging
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @engex/ci-lib:build --outputStyle=static
                - mkdir -p reports/deploy
                - buildkite-agent meta-data get engex:api:staging:ops-commit > reports/deploy/api-staging.ops-commit
                - node libs/ci-lib/dist/engex-ci.cjs deploy verify --url https://api.staging.example.com --revision c0ffee0000000000000000000000000000000001 --argocd-server https://argocd.example.com --argocd-app api-staging --ops-commit-file reports/deploy/api-staging.ops-commit --timeout 10m
              depends_on:
                - acme-api:deploy-staging
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 15
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
            - label: ":rocket: deploy api to overlays/staging-eu"
              key: acme-api:deploy-staging-eu
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @engex/ci-lib:build --outputStyle=static
                - mkdir -p reports/deploy
                - buildkite-agent meta-data get engex:api:digest > reports/deploy/api-staging-eu.digest
                - node libs/ci-lib/dist/engex-ci.cjs deploy bump --repo https://github.com/highspot/api-ops.git --overlay overlays/staging-eu --image 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/api --tag c0ffee0000000000000000000000000000000001 --digest-file reports/deploy/api-staging-eu.digest --pin-digest --project @acme/api
              depends_on:
                - engex-checks-passed
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 5
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
                  - exit_status: 4
                    limit: 2
                manual:
                  permit_on_passed: false
              concurrency_group: engex-deploy/https://github.com/highspot/api-ops.git
              concurrency: 1
      "
    `);
  });

  it('verifies a target with ArgoCD and no url (ArgoCD only), and names the target with neither as unverified (issue 20, finding 5)', () => {
    const input = withTargets(
      [
        { ...staging, argocd: { server: 'https://argocd.example.com', application: 'api-staging' } },
        { ...staging, overlay: 'overlays/staging-eu' },
      ],
      planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts']), lastPassed),
    );
    const yaml = deployYaml(input);
    expect(yaml).toContain(
      'deploy verify --revision c0ffee0000000000000000000000000000000001 --argocd-server https://argocd.example.com --argocd-app api-staging --ops-commit-file reports/deploy/api-staging.ops-commit --timeout 10m',
    );
    expect(yaml).toContain('buildkite-agent meta-data set engex:api:staging:ops-commit');
    expect(yaml).not.toContain('verify-staging-eu');
    const plan = JSON.stringify(planPipeline(input));
    expect(plan).toContain('**Unverified:** nothing checks that these deploys run');
    expect(plan).toContain('- `@acme/api` → `overlays/staging-eu`: unverified');
    expect(plan).not.toContain('`overlays/staging`: unverified');
  });

  it('release/*: a block step carrying commit, digest and scan locations gates the production deploy', () => {
    const input = planInput({ branch: 'release/1.4' }, analyze(['apps/api/src/main.ts']), lastPassed);
    expect(deployYaml(input)).toMatchInlineSnapshot(`
      "agents:
        queue: deploy
      steps:
        - group: "@acme/api"
          key: acme-api
          steps:
            - block: ":rocket: Deploy api to overlays/production?"
              key: acme-api:approve-production
              prompt: |-
                Deploy api at commit c0ffee0000000000000000000000000000000001 to overlays/production (https://github.com/highspot/api-ops.git).
                Image digest: the "image api" annotation (meta-data engex:api:digest).
                Scan summary: the trivy-api annotation and the artifact reports/trivy/api.md.
              depends_on:
                - engex-checks-passed
            - label: ":rocket: deploy api to overlays/production"
              key: acme-api:deploy-production
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @engex/ci-lib:build --outputStyle=static
                - mkdir -p reports/deploy
                - buildkite-agent meta-data get engex:api:digest > reports/deploy/api-production.digest
                - node libs/ci-lib/dist/engex-ci.cjs deploy bump --repo https://github.com/highspot/api-ops.git --overlay overlays/production --image 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/api --tag c0ffee0000000000000000000000000000000001 --digest-file reports/deploy/api-production.digest --project @acme/api
              depends_on:
                - engex-checks-passed
                - acme-api:approve-production
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 5
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
                  - exit_status: 4
                    limit: 2
                manual:
                  permit_on_passed: false
              concurrency_group: engex-deploy/https://github.com/highspot/api-ops.git
              concurrency: 1
      "
    `);
  });

  /** A third project the service does not depend on, like ci-lib for halow. */
  const tool = {
    name: '@acme/tool',
    root: 'tools/tool',
    tags: [],
    metadata: {},
    targets: { test: { executor: 'nx:run-commands', command: 'vitest run', cwd: 'tools/tool' } },
  };
  const deployWaitsFor = (deployWhen: 'build' | 'service'): string[] => {
    const projects = planInput({}, analyze([])).projects.map((p) => (p.name === '@acme/api' ? { ...p, metadata: { engex: { deployWhen } } } : p));
    const all = [...projects, tool];
    const input = reconfigured(planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts', 'tools/tool/src/main.ts'], { projects: all }), lastPassed), { projects: all });
    const steps = commandSteps(planPipeline(input));
    const deploy = steps.find((s) => s.key === 'acme-api:deploy-staging');
    // Through the checks gate, when the deploy waits for it.
    return (deploy?.dependsOn ?? []).flatMap((k) => (k === CHECKS_GATE_KEY ? [...(steps.find((s) => s.key === k)?.dependsOn ?? [])] : [k]));
  };

  it('deployWhen "build" (default): the deploy waits for every check of the build, also of projects the service does not use', () => {
    expect(deployWaitsFor('build')).toMatchInlineSnapshot(`
      [
        "acme-api:test",
        "acme-api:build",
        "acme-api:scan",
        "acme-api:smoke",
        "acme-tool:test",
        "acme-util:lint",
        "acme-util:test",
        "acme-util:build",
      ]
    `);
  });

  it('deployWhen "build": the fan-in is written once, on the gate, however many deploy steps wait', () => {
    const input = withTargets([staging, { ...staging, overlay: 'overlays/staging-eu' }], planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts']), lastPassed));
    const steps = allSteps(planPipeline(input));
    const gated = steps.filter((s) => s.dependsOn.includes(CHECKS_GATE_KEY)).map((s) => [s.key, ...s.dependsOn].join(' <- '));
    expect(gated).toEqual(['acme-api:deploy-staging <- engex-checks-passed', 'acme-api:deploy-staging-eu <- engex-checks-passed']);
    expect(steps.filter((s) => s.key === CHECKS_GATE_KEY)).toHaveLength(1);
  });

  it('deployWhen "service" alone: no gate step', () => {
    const projects = planInput({}, analyze([])).projects.map((p) => (p.name === '@acme/api' ? { ...p, metadata: { engex: { deployWhen: 'service' } } } : p));
    const input = reconfigured(planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts'], { projects }), lastPassed), { projects });
    expect(allSteps(planPipeline(input)).map((s) => s.key)).not.toContain(CHECKS_GATE_KEY);
  });

  it('deployWhen "service": the deploy waits for the checks of its dependency closure only, dependencies included', () => {
    expect(deployWaitsFor('service')).toMatchInlineSnapshot(`
      [
        "acme-api:test",
        "acme-api:build",
        "acme-api:scan",
        "acme-api:smoke",
        "acme-util:lint",
        "acme-util:test",
        "acme-util:build",
      ]
    `);
  });

  it('deployWhen "service" in the YAML: no step of the unrelated @acme/tool', () => {
    const projects = planInput({}, analyze([])).projects.map((p) => (p.name === '@acme/api' ? { ...p, metadata: { engex: { deployWhen: 'service' } } } : p));
    const all = [...projects, tool];
    const input = reconfigured(planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts', 'tools/tool/src/main.ts'], { projects: all }), lastPassed), { projects: all });
    expect(deployYaml(input)).toMatchInlineSnapshot(`
      "agents:
        queue: deploy
      steps:
        - group: "@acme/api"
          key: acme-api
          steps:
            - label: ":rocket: deploy api to overlays/staging"
              key: acme-api:deploy-staging
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run @engex/ci-lib:build --outputStyle=static
                - mkdir -p reports/deploy
                - buildkite-agent meta-data get engex:api:digest > reports/deploy/api-staging.digest
                - node libs/ci-lib/dist/engex-ci.cjs deploy bump --repo https://github.com/highspot/api-ops.git --overlay overlays/staging --image 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/api --tag c0ffee0000000000000000000000000000000001 --digest-file reports/deploy/api-staging.digest --project @acme/api
              depends_on:
                - acme-api:test
                - acme-api:build
                - acme-api:scan
                - acme-api:smoke
                - acme-util:lint
                - acme-util:test
                - acme-util:build
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
              timeout_in_minutes: 5
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
                  - exit_status: 4
                    limit: 2
                manual:
                  permit_on_passed: false
              concurrency_group: engex-deploy/https://github.com/highspot/api-ops.git
              concurrency: 1
      "
    `);
  });
});

describe('stepGranularity "project": one job per affected project', () => {
  const projectMode = (input: Parameters<typeof planPipeline>[0]) => reconfigured(input, { config: { stepGranularity: 'project' } });

  it('runs the affected targets with one nx run-many and orders jobs by the task graph', () => {
    const input = projectMode(planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts']), lastPassed));
    expect(outline(input)).toMatchInlineSnapshot(`
      [
        "engex-plan",
        "acme-util:tasks",
        "acme-api:tasks <- acme-util:tasks",
        "acme-api:image <- acme-api:tasks",
        "acme-api:scan <- acme-api:image",
        "acme-api:smoke <- acme-api:image",
        "acme-api:deploy-staging <- engex-checks-passed",
        "engex-checks-passed <- acme-api:tasks acme-api:scan acme-api:smoke acme-util:tasks",
      ]
    `);
    const pipeline = planPipeline(input);
    const util = pipeline.steps.find((s) => s.key === 'acme-util');
    expect(renderPipeline({ steps: util ? [util] : [], notify: [] }, 'yaml')).toMatchInlineSnapshot(`
      "agents:
        queue: default
      steps:
        - group: "@acme/util"
          key: acme-util
          steps:
            - label: lint, test, build @acme/util
              key: acme-util:tasks
              commands:
                - test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund
                - npx nx run-many --targets lint,test,build --projects @acme/util --outputStyle=static || ENGEX_DEFERRED_STATUS=$$?
                - exit "$\${ENGEX_DEFERRED_STATUS:-0}"
              plugins:
                - cache#v1.12.0:
                    backend: s3
                    manifest: package-lock.json
                    path: node_modules
                    restore: file
                    save: file
                    compression: zstd
                    key-extra: "-linux-x64-node24"
                    soft-fail: true
                - test-collector#v1.11.0:
                    files: libs/util/reports/junit.xml
                    format: junit
                    annotation-link: true
              timeout_in_minutes: 30
              retry:
                automatic:
                  - exit_status: -1
                    limit: 2
                  - exit_status: 255
                    limit: 2
              artifact_paths:
                - libs/util/reports/junit.xml
      "
    `);
  });

  it('keeps the JUnit file where stepGranularity "target" writes it', () => {
    const target = commandSteps(planPipeline(planInput({}, analyze(['libs/util/src/index.ts']))));
    const project = commandSteps(planPipeline(projectMode(planInput({}, analyze(['libs/util/src/index.ts'])))));
    const junit = (steps: typeof target) =>
      steps
        .flatMap((s) => s.artifactPaths)
        .filter((p) => p.endsWith('junit.xml'))
        .sort();
    expect(junit(project)).toEqual(junit(target));
    expect(junit(project)).toEqual(['apps/api/reports/junit.xml', 'libs/util/reports/junit.xml']);
    const uploads = (steps: typeof target) => steps.flatMap((s) => s.plugins.filter((p) => p.ref.startsWith('test-collector#')).map((p) => p.config['files'])).sort();
    expect(uploads(project)).toEqual(uploads(target));
  });

  it('without testEngine, test steps keep their JUnit artifact and send nothing to Test Engine', () => {
    const input = planInput({}, analyze(['libs/util/src/index.ts']));
    for (const stepGranularity of ['target', 'project'] as const) {
      const steps = commandSteps(planPipeline(reconfigured(input, { config: { testEngine: false, stepGranularity } })));
      expect(steps.flatMap((s) => s.plugins.map((p) => p.ref)).filter((r) => r.startsWith('test-collector#'))).toEqual([]);
      expect(
        steps
          .flatMap((s) => s.artifactPaths)
          .filter((p) => p.endsWith('junit.xml'))
          .sort(),
      ).toEqual(['apps/api/reports/junit.xml', 'libs/util/reports/junit.xml']);
    }
  });

  it('is valid for upload and needs fewer jobs than one per task', () => {
    const input = projectMode(planInput({ branch: 'main' }, analyze([], { all: '--all' }), lastPassed));
    const pipeline = planPipeline(input);
    expect(validatePipeline([pipeline])).toEqual([]);
    const perTask = commandSteps(planPipeline(reconfigured(input, { config: { stepGranularity: 'target' } })));
    expect(commandSteps(pipeline).length).toBe(perTask.length - 4);
  });

  it('projects whose tasks depend on each other both ways keep one job per task', () => {
    const base = planInput({}, analyze(['libs/util/src/index.ts']));
    const tasks = base.analysis.tasks.map((t) =>
      // util:lint now waits for api:build too, while api:build waits for util:build: a project-level cycle.
      t.id === '@acme/util:lint' ? { ...t, dependsOn: ['@acme/api:build'] } : t,
    );
    const input = projectMode({ ...base, analysis: { ...base.analysis, tasks } });
    const pipeline = planPipeline(input);
    expect(validatePipeline([pipeline])).toEqual([]);
    expect(commandSteps(pipeline).filter((s) => s.meta.kind === 'nx-project')).toEqual([]);
    expect(outline(input)).toContain('acme-util:lint <- acme-api:build');
  });
});

describe('trust zones (issue 18)', () => {
  const queues = (input: Parameters<typeof planPipeline>[0]): string[] => [...new Set(commandSteps(planPipeline(input)).map((s) => s.agents['queue'] as string))].sort();
  const pluginRefs = (input: Parameters<typeof planPipeline>[0]): string[] => [...new Set(commandSteps(planPipeline(input)).flatMap((s) => s.plugins.map((p) => p.ref)))].sort();
  const engexCalls = (input: Parameters<typeof planPipeline>[0]): string[] =>
    commandSteps(planPipeline(input)).flatMap((s) => s.commands.flatMap((c) => (c.kind === 'engex-ci' ? [c.call.command] : [])));
  const cacheOf = (input: Parameters<typeof planPipeline>[0]) =>
    commandSteps(planPipeline(input))
      .flatMap((s) => s.plugins)
      .filter((p) => p.ref.startsWith('cache#'));
  const all = (context: Parameters<typeof planInput>[0]) => planInput(context, analyze([], { all: '--all' }));

  it('attack 1: a pull request (even --all) puts nothing on the deploy queue, logs in to no ECR and pushes, deploys nothing', () => {
    for (const context of [{ branch: 'main', pullRequest: 123 }, { branch: 'release/9', pullRequest: 124 }, { branch: 'feature/x' }]) {
      const input = all(context);
      expect(queues(input)).toEqual(['untrusted']);
      expect(pluginRefs(input)).not.toContain('ecr#v2.10.0');
      expect(engexCalls(input)).not.toContain('image push');
      expect(engexCalls(input)).not.toContain('deploy bump');
      expect(engexCalls(input)).not.toContain('ecr check');
      expect(allSteps(planPipeline(input)).filter((s) => s.type === 'block' || ['deploy', 'verify', 'scan', 'smoke'].includes(s.meta.kind))).toEqual([]);
      // What a reviewer needs: the image is built, smoked (the local image, no pull) and scanned on the untrusted agent.
      const image = commandSteps(planPipeline(input)).find((s) => s.key === 'acme-api:image');
      expect(image?.meta).toMatchObject({ kind: 'image', zone: 'local' });
      expect(image?.commands.map((c) => (c.kind === 'engex-ci' ? c.call.command : c.kind === 'trivy' ? `trivy ${c.target}` : c.kind))).toEqual([
        'install',
        'nx',
        'exec',
        'nx',
        'image build',
        'image smoke',
        'trivy image',
        'trivy sbom',
        'scan report',
        'annotate',
      ]);
      expect(image?.commands.some((c) => c.kind === 'engex-ci' && c.call.command === 'image smoke' && c.call.local === true)).toBe(true);
    }
  });

  it('trusted builds: checks on agents.queue, scan and smoke on dockerQueue, push and deploys on deployQueue', () => {
    const input = planInput({ branch: 'main' }, analyze([], { all: '--all' }), lastPassed);
    const steps = commandSteps(planPipeline(reconfigured(input, { config: { dockerQueue: 'docker' } })));
    const queueOf = (kind: string) => [...new Set(steps.filter((s) => s.meta.kind === kind).map((s) => s.agents['queue']))];
    expect(queueOf('nx-task')).toEqual(['default']);
    expect(queueOf('scan')).toEqual(['docker']);
    expect(queueOf('smoke')).toEqual(['docker']);
    expect(queueOf('image')).toEqual(['deploy']);
    expect(queueOf('deploy')).toEqual(['deploy']);
    expect(steps.find((s) => s.meta.kind === 'image')?.plugins.find((p) => p.ref === 'ecr#v2.10.0')?.config).toEqual({
      login: true,
      'account-ids': '460210468233',
      region: 'us-east-1',
    });
  });

  it('attack 3: untrusted builds restore the dependency cache and never save it; the key carries OS, CPU and Node major', () => {
    const pr = cacheOf(all({ branch: 'main', pullRequest: 123 }));
    const main = cacheOf(planInput({ branch: 'main' }, analyze([], { all: '--all' }), lastPassed));
    expect(pr.length).toBeGreaterThan(3);
    for (const cache of pr) {
      expect(cache.config).not.toHaveProperty('save');
      expect(cache.config).toMatchObject({ restore: 'file', 'key-extra': '-linux-x64-node24', 'soft-fail': true });
    }
    for (const cache of main) expect(cache.config).toMatchObject({ restore: 'file', save: 'file', 'key-extra': '-linux-x64-node24', 'soft-fail': true });
    const arm = planInput({ branch: 'main' }, analyze([], { all: '--all' }), lastPassed);
    const armCache = cacheOf(reconfigured(arm, { config: { agents: { ...arm.config.agents, platform: 'linux-arm64' }, nodeImage: 'node:22.12.0-alpine' } }));
    expect(armCache[0]?.config['key-extra']).toBe('-linux-arm64-node22');
  });

  it('attack 4: the Nx write token can live on a queue that runs only reviewed code', () => {
    // Pull-request checks and main checks never share a queue: agents.queue runs trusted builds only.
    const pr = commandSteps(planPipeline(all({ branch: 'feat/x', pullRequest: 5 }))).filter((s) => s.meta.kind === 'nx-task');
    const main = commandSteps(planPipeline(planInput({ branch: 'main' }, analyze([], { all: '--all' }), lastPassed))).filter((s) => s.meta.kind === 'nx-task');
    expect(new Set(pr.map((s) => s.agents['queue']))).toEqual(new Set(['untrusted']));
    expect(new Set(main.map((s) => s.agents['queue']))).toEqual(new Set(['default']));
  });

  it('attack 5: a production overlay spelled with its kustomization file still gets the block step', () => {
    for (const overlay of ['overlays/production/kustomization.yaml', 'overlays/./production', './overlays/production/']) {
      const input = planInput({ branch: 'release/1.4' }, analyze(['apps/api/src/main.ts']), lastPassed);
      const config = parseWorkspaceConfig({ deployTargets: [{ branch: 'release/*', overlay }] });
      const steps = allSteps(planPipeline(reconfigured(input, { config })));
      const deploy = steps.find((s) => s.meta.kind === 'deploy');
      expect(steps.find((s) => s.type === 'block')?.key).toBe('acme-api:approve-production');
      expect(deploy?.dependsOn).toContain('acme-api:approve-production');
      expect(deploy?.meta).toMatchObject({ overlay: 'overlays/production' });
    }
  });

  it("attack 6: a branch's package.json cannot grant itself deploy rights", () => {
    const input = planInput({ branch: 'feature/x' }, analyze(['apps/api/src/main.ts']), lastPassed);
    const widened = input.projects.map((p) =>
      p.name === '@acme/api'
        ? { ...p, metadata: { engex: { repository: 'engex/halow', deployTargets: [{ branch: '**', overlay: 'overlays/production', approval: 'none' }] } } }
        : p,
    );
    expect(() => reconfigured(input, { projects: widened })).toThrow(ConfigError);
    expect(() => reconfigured(input, { projects: widened })).toThrow(/apps\/api\/package\.json: nx\.metadata\.engex\.repository: "engex\/halow" is outside/);
    // And a branch outside trustedBranches never deploys, whatever its targets say.
    const feature = planPipeline(planInput({ branch: 'feature/x' }, analyze(['apps/api/src/main.ts']), lastPassed));
    expect(commandSteps(feature).filter((s) => s.meta.kind === 'deploy')).toEqual([]);
  });

  it('the plan says which zone the build is in and why', () => {
    const plan = commandSteps(planPipeline(all({ branch: 'main', pullRequest: 123 })))[0];
    const body = plan?.commands.find((c) => c.kind === 'annotate')?.body ?? '';
    expect(body).toContain('**Zone:** untrusted: pull request #123: pull-request code is unreviewed; every step on untrusted');
  });
});
