import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HOSTILE } from '../../test/fixtures.js';
import { quoteShellArg, renderShellCommand, renderShellCommands } from './shell.js';

describe('quoteShellArg', () => {
  it('leaves plain tokens alone', () => {
    expect(quoteShellArg('@engex/halow:build')).toBe('@engex/halow:build');
    expect(quoteShellArg('--outputStyle=static')).toBe('--outputStyle=static');
  });

  it.each(HOSTILE)('a real shell gets %j back as one literal argument', (token) => {
    const line = renderShellCommand({ kind: 'exec', argv: ['printf', '%s\\0', token, 'after'] });
    const out = execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
    expect(out.split('\0')).toEqual([token, 'after', '']);
  });
});

describe('renderShellCommands', () => {
  it('runs the commands after a deferred failure, then fails with its status', () => {
    const lines = renderShellCommands([
      { kind: 'engex-ci', bin: ['sh', '-c', 'exit 3'], call: { command: 'image smoke', project: 'p' }, deferFailure: true },
      { kind: 'exec', argv: ['printf', 'annotated'] },
    ]);
    expect(lines).toEqual(["sh -c 'exit 3' image smoke --project p || ENGEX_DEFERRED_STATUS=$?", 'printf annotated', 'exit "${ENGEX_DEFERRED_STATUS:-0}"']);
    let status = 0;
    let stdout = '';
    try {
      execFileSync('/bin/sh', ['-e', '-c', lines.join('\n')], { encoding: 'utf8' });
    } catch (error) {
      status = (error as { status: number }).status;
      stdout = (error as { stdout: string }).stdout;
    }
    expect({ status, stdout }).toEqual({ status: 3, stdout: 'annotated' });
  });

  it('redirects with quoted paths', () => {
    expect(renderShellCommand({ kind: 'exec', argv: ['trivy'], stdout: 'reports/a b.json', stdin: 'in.md' })).toBe("trivy < in.md > 'reports/a b.json'");
  });
});

describe('invocation', () => {
  it('spells out every command kind once, as the argv a process receives', () => {
    const image = { registry: '460210468233.dkr.ecr.cn-north-1.amazonaws.com.cn', repository: 'engex/halow', tag: 'c0ffee' };
    const bin = ['npx', '--no', 'engex-ci'];
    const lines = renderShellCommands([
      { kind: 'install' },
      { kind: 'nx', nx: ['npx', 'nx'], project: '@engex/halow', target: 'test', args: ['--reporter=junit'] },
      { kind: 'engex-ci', bin, call: { command: 'image push', project: '@engex/halow' } },
      {
        kind: 'engex-ci',
        bin,
        call: { command: 'scan report', args: ['r.json'], sbomReport: 's.json', failOn: 'CRITICAL,HIGH', ignoreUnfixed: true, annotation: 'r.md' },
        deferFailure: true,
      },
      {
        kind: 'engex-ci',
        bin,
        call: {
          command: 'deploy bump',
          repo: 'git@example.com:o/halow-ops.git',
          overlay: 'overlays/staging',
          image: 'halow',
          tag: 'c0ffee',
          project: '@engex/halow',
          digestFile: 'reports/deploy/halow-staging.digest',
          pinDigest: true,
        },
      },
      { kind: 'meta-data', op: 'set', key: 'engex:halow:digest', file: 'reports/image/halow.digest' },
      { kind: 'meta-data', op: 'get', key: 'engex:halow:digest', file: 'reports/deploy/halow-staging.digest' },
      {
        kind: 'engex-ci',
        bin,
        call: { command: 'ecr check', project: '@engex/halow', annotation: 'e.md', allowMutable: true },
        annotateOnFailure: { context: 'ecr-halow', file: 'e.md' },
      },
      {
        kind: 'engex-ci',
        bin,
        call: {
          command: 'deploy verify',
          url: 'https://halow.example.com',
          revision: 'c0ffee',
          argocdServer: 'https://argocd.example.com',
          argocdApp: 'halow-staging',
          timeout: '10m',
        },
      },
      { kind: 'annotate', style: 'info', context: 'engex-plan', body: '# Plan' },
      { kind: 'annotate', style: 'warning', context: 'trivy-halow', bodyFile: 'r.md' },
      { kind: 'pull', image },
      { kind: 'trivy', target: 'image', image, containerImage: 'aquasec/trivy:0.58.2', report: 'r.json' },
      { kind: 'artifact-download', path: 'apps/halow/dist/sbom.cdx.json', step: 'halow:image' },
      { kind: 'trivy', target: 'sbom', sbom: 'apps/halow/dist/sbom.cdx.json', containerImage: 'aquasec/trivy:0.58.2', report: 's.json' },
      { kind: 'exec', argv: ['mkdir', '-p', 'reports'] },
    ]);
    expect(lines).toMatchInlineSnapshot(`
      [
        "test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund",
        "npx nx run @engex/halow:test --outputStyle=static -- --reporter=junit",
        "npx --no engex-ci image push --project @engex/halow",
        "npx --no engex-ci scan report r.json --fail-on CRITICAL,HIGH --ignore-unfixed --annotation r.md --sbom-report s.json || ENGEX_DEFERRED_STATUS=$?",
        "npx --no engex-ci deploy bump --repo git@example.com:o/halow-ops.git --overlay overlays/staging --image halow --tag c0ffee --digest-file reports/deploy/halow-staging.digest --pin-digest --project @engex/halow",
        "buildkite-agent meta-data set engex:halow:digest < reports/image/halow.digest",
        "buildkite-agent meta-data get engex:halow:digest > reports/deploy/halow-staging.digest",
        "npx --no engex-ci ecr check --project @engex/halow --allow-mutable --annotation e.md || { ENGEX_FAILED_STATUS=$?; buildkite-agent annotate --style error --context ecr-halow < e.md; exit "$ENGEX_FAILED_STATUS"; }",
        "npx --no engex-ci deploy verify --url https://halow.example.com --revision c0ffee --argocd-server https://argocd.example.com --argocd-app halow-staging --timeout 10m",
        "buildkite-agent annotate --style info --context engex-plan '# Plan'",
        "buildkite-agent annotate --style warning --context trivy-halow < r.md",
        "docker pull --quiet 460210468233.dkr.ecr.cn-north-1.amazonaws.com.cn/engex/halow:c0ffee",
        "docker run --rm -v /var/run/docker.sock:/var/run/docker.sock -v engex-trivy-cache:/root/.cache/trivy aquasec/trivy:0.58.2 image --format json --quiet --scanners vuln --exit-code 0 460210468233.dkr.ecr.cn-north-1.amazonaws.com.cn/engex/halow:c0ffee > r.json",
        "buildkite-agent artifact download apps/halow/dist/sbom.cdx.json . --step halow:image",
        "docker run --rm -v "$PWD"/apps/halow/dist/sbom.cdx.json:/sbom/sbom.cdx.json:ro -v engex-trivy-cache:/root/.cache/trivy aquasec/trivy:0.58.2 sbom --format json --quiet --scanners vuln --exit-code 0 /sbom/sbom.cdx.json > s.json",
        "mkdir -p reports",
        "exit "\${ENGEX_DEFERRED_STATUS:-0}"",
      ]
    `);
  });
});
