import { createHash } from 'node:crypto';
import { copyFile, chmod, readFile, rm } from 'node:fs/promises';
import { isSpdxExpression } from '@engex/workspace-config';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from './cli.js';
import { createDocker } from './lib/docker.js';
import { OCI } from './lib/labels.js';
import { runCommand } from './lib/run-command.js';
import { createRegistryClient } from './lib/registry-client.js';
import { describeNeeding, dockerRequirement, registryRequirement } from './testing/requirements.js';
import { buildScratchImage, removeRegistryImages } from './testing/scratch-image.js';
import { startLocalRegistry, type LocalRegistry } from './lib/local-registry.js';
import { startFaultServer } from './testing/fault-server.js';
import { bundleFiles, createTempWorkspace, hermeticEnv, servicePackage, type TempWorkspace } from './testing/temp-workspace.js';

const SHA = 'feedfacefeedfacefeedfacefeedfacefeedface';
const SHA2 = 'decafbaddecafbaddecafbaddecafbaddecafbad';

/**
 * Stands in for the shared docker/Dockerfile with the same build-arg contract (NODE_IMAGE, APP,
 * PORT, REVISION, CREATED, SOURCE, BUILD_URL, VERSION → APP_* env); NODE_IMAGE=scratch and a static
 * busybox httpd keep it free of any base image, which these machines cannot pull.
 */
const DOCKERFILE = `ARG NODE_IMAGE=node:24
FROM \${NODE_IMAGE}
ARG APP
ARG PORT=3000
ARG REVISION=unknown
ARG CREATED=unknown
ARG BUILD_URL=unknown
ARG SOURCE=unknown
ARG VERSION=unknown
COPY docker/busybox /bin/busybox
COPY docker/start.sh /start.sh
COPY apps/\${APP}/dist/ /www/
ENV APP_REVISION=\${REVISION} APP_BUILD_URL=\${BUILD_URL} PORT=\${PORT}
ENTRYPOINT ["/bin/busybox", "sh", "/start.sh"]
`;
const START = 'echo "{\\"revision\\":\\"$APP_REVISION\\"}" > /www/version\nexec /bin/busybox httpd -f -p "$HOST:$PORT" -h /www\n';

/** The demo service's workspace files; its README decides the documentation label (see the tests). */
const demoFiles = (): Record<string, string> => ({
  'docker/Dockerfile': DOCKERFILE,
  'docker/start.sh': START,
  'apps/demo/dist/healthz': '{"status":"ok"}',
  'apps/demo/README.md': '# demo\n',
  ...bundleFiles('apps/demo'),
});

describeNeeding([dockerRequirement(), registryRequirement()], 'engex-ci image build/push/exists/smoke on a real engine and registry', () => {
  const engine = createDocker();
  let registry: LocalRegistry;
  let ws: TempWorkspace;

  const cli = async (argv: string[], env: Record<string, string>) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: hermeticEnv({ REGISTRY: registry.host, NODE_IMAGE: 'scratch', SOURCE_DATE_EPOCH: '1767225600', ...env }),
      cwd: ws.root,
      now: () => new Date('2026-11-27T10:00:00Z'),
    });
    return { code, stdout, stderr };
  };
  const project = ['--project', 'demo'];

  beforeAll(async () => {
    registry = await startLocalRegistry();
    ws = await createTempWorkspace({
      config: { tags: { short: true, branch: false, pullRequest: false, semver: true } },
      packages: { 'apps/demo': servicePackage('@engex/demo', { description: 'demo service', port: 3000 }) },
      // A README on disk but in no commit (this workspace is not a git repository): no documentation label.
      files: demoFiles(),
    });
    await copyFile('/bin/busybox', join(ws.root, 'docker/busybox'));
    await chmod(join(ws.root, 'docker/busybox'), 0o755);
  }, 60_000);

  afterAll(async () => {
    if (registry) await removeRegistryImages(registry.host, [`engex/demo:${SHA}`, `engex/demo:${SHA2}`]);
    await registry?.stop();
    await ws?.cleanup();
  });

  it(`builds with every label, pushes once, then is idempotent`, async () => {
    const env = {
      BUILDKITE_COMMIT: SHA,
      BUILDKITE_BUILD_URL: 'https://buildkite.com/highspot/engex/builds/1',
      BUILDKITE_BUILD_NUMBER: '1',
      BUILDKITE_PIPELINE_SLUG: 'engex',
      BUILDKITE_BRANCH: 'main',
    };
    const dest = `${registry.host}/engex/demo:${SHA}`;

    const absent = await cli(['image', 'exists', ...project], env);
    expect(absent).toMatchObject({ code: 1, stdout: `absent ${dest}\n` });

    const built = await cli(['image', 'build', ...project], env);
    expect(built.code, built.stderr).toBe(0);
    const image = (await engine.inspectImage(dest))!;
    expect(built.stdout).toBe(
      [
        `built ${dest} image=${image.id} size=${image.size} (${image.size < 1000 ? `${image.size} B` : `${(image.size / 1e6).toFixed(1)} MB`})`,
        `tagged engex/demo:${SHA}`,
        `tagged ${dest}`,
        `tagged ${registry.host}/engex/demo:${SHA.slice(0, 7)}`,
        '',
      ].join('\n'),
    );
    expect(built.stderr).toContain('(legacy builder: buildx not installed)');
    expect(image.labels).toMatchObject({
      [OCI.revision]: SHA,
      [OCI.created]: '2026-01-01T00:00:00Z',
      [OCI.source]: 'https://github.com/highspot/halow',
      [OCI.version]: SHA,
      [OCI.title]: 'demo',
      [OCI.description]: 'demo service',
      [OCI.vendor]: 'Highspot',
      [OCI.licenses]: 'LicenseRef-Proprietary',
      [OCI.baseName]: 'docker.io/library/scratch',
      'io.hspt.build.url': 'https://buildkite.com/highspot/engex/builds/1',
      'io.hspt.buildkite.build-number': '1',
      'io.hspt.buildkite.pipeline': 'engex',
      'io.hspt.buildkite.branch': 'main',
    });

    const pushed = await cli(['image', 'push', ...project, '--digest-file', 'reports/image/demo.digest'], env);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toMatch(new RegExp(`^pushed ${dest.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64} image=${image.id} size=\\d+\\npushed .*:${SHA.slice(0, 7)}@sha256:`));

    // The labels as every registry reader sees them: from the pushed config blob.
    const sbomFile = await readFile(join(ws.root, 'apps/demo/dist/sbom.cdx.json'), 'utf8');
    const sbomDigest = `sha256:${createHash('sha256').update(sbomFile).digest('hex')}`;
    expect(built.stderr).toContain(`sbom apps/demo/dist/sbom.cdx.json ${sbomDigest} packages=1`);
    const pushedImage = await createRegistryClient({ registry: { host: registry.host, protocol: 'http' } }).inspectImage('engex/demo', SHA);
    expect(pushedImage?.labels).toEqual({
      ...image.labels,
      [OCI.authors]: 'engex',
      [OCI.licenses]: 'LicenseRef-Proprietary',
      [OCI.created]: '2026-01-01T00:00:00Z',
      'io.hspt.sbom.digest': sbomDigest,
    });
    expect(isSpdxExpression(pushedImage!.labels[OCI.licenses]!)).toBe(true);
    expect(pushedImage?.labels).not.toHaveProperty(OCI.documentation);
    expect(pushedImage?.labels).not.toHaveProperty('org.opencontainers.image.ref.name');

    const exists = await cli(['image', 'exists', ...project], env);
    const remote = await createRegistryClient({ registry: { host: registry.host, protocol: 'http' } }).headManifest('engex/demo', SHA);
    expect(exists).toMatchObject({ code: 0, stdout: `exists ${dest}@${(remote as { digest: string }).digest}\n` });
    // What the image step records with `buildkite-agent meta-data set engex:<service>:digest`.
    expect(await readFile(join(ws.root, 'reports/image/demo.digest'), 'utf8')).toBe(`${(remote as { digest: string }).digest}\n`);

    const again = await cli(['image', 'push', ...project], env);
    expect(again.code).toBe(0);
    expect(
      again.stdout
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith('unchanged ') && l.endsWith('(already in the registry; nothing pushed)')),
    ).toBe(true);

    const smoke = await cli(['image', 'smoke', ...project], env);
    expect(smoke.code, smoke.stderr).toBe(0);
    expect(smoke.stdout).toMatch(new RegExp(`^smoke ok ${dest.replace(/\./g, '\\.')} revision=${SHA} port=\\d+\\n$`));

    // A rebuild of the same commit in a new Buildkite build differs in its labels. Its labels
    // prove nothing (issue 18): without a record of a trusted build that pushed the digest, exit 3.
    const digest = (remote as { digest: string }).digest;
    const rebuiltEnv = { ...env, BUILDKITE_BUILD_URL: 'https://buildkite.com/highspot/engex/builds/2', BUILDKITE_BUILD_NUMBER: '2' };
    expect((await cli(['image', 'build', ...project], rebuiltEnv)).code).toBe(0);
    const unproven = await cli(['image', 'push', ...project], rebuiltEnv);
    expect(unproven.code).toBe(3);
    expect(unproven.stderr).toContain(`registry: manifest ${digest}`);
    expect(unproven.stderr).toContain('claimed build https://buildkite.com/highspot/engex/builds/1');
    // Buildkite (faked on 127.0.0.1) records build 1 on main, of this commit, with that digest in its meta-data: kept.
    const api = await startFaultServer({
      behaviours: [{ kind: 'json', body: [{ number: 1, branch: 'main', commit: SHA, pull_request: null }] }],
    });
    try {
      const apiEnv = {
        ...rebuiltEnv,
        BUILDKITE_API_TOKEN: 'bkua_read_builds_token',
        BUILDKITE_ORGANIZATION_SLUG: 'highspot',
        ENGEX_CI_BUILDKITE_API_URL: api.url,
      };
      const kept = await cli(['image', 'push', ...project], apiEnv);
      expect(kept.code, kept.stderr).toBe(0);
      expect(kept.stdout).toMatch(
        /^kept .* \(an earlier trusted build of this commit pushed it, proven by build 1 on main \(Buildkite API\); this rebuild sha256:[0-9a-f]{64} was not pushed because the tag is immutable\)\n/,
      );
      expect(api.requests.map((r) => r.url)).toEqual([
        `/v2/organizations/highspot/pipelines/engex/builds?commit=${SHA}&meta_data[engex%3Ademo%3Adigest]=${encodeURIComponent(digest)}&per_page=30`,
      ]);
    } finally {
      await api.close();
    }
    expect(await createRegistryClient({ registry: { host: registry.host, protocol: 'http' } }).headManifest('engex/demo', SHA)).toEqual(remote);
  }, 300_000);

  it('--built-sbom bakes the SBOM `image sbom` wrote, and refuses one that is missing or of another commit', async () => {
    const env = { BUILDKITE_COMMIT: SHA };
    const file = join(ws.root, 'apps/demo/dist/sbom.cdx.json');
    await rm(file, { force: true });
    const missing = await cli(['image', 'build', ...project, '--built-sbom'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--built-sbom: apps/demo/dist/sbom.cdx.json: not found.');
    expect(missing.stderr).toContain('npx nx run @engex/demo:build && engex-ci image sbom --project @engex/demo');

    const written = await cli(['image', 'sbom', ...project], env);
    expect(written.code, written.stderr).toBe(0);
    const other = await cli(['image', 'build', ...project, '--built-sbom'], { BUILDKITE_COMMIT: SHA2 });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`metadata.component.version is "${SHA}", expected this commit ${SHA2}`);

    const text = await readFile(file, 'utf8');
    const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
    const built = await cli(['image', 'build', ...project, '--built-sbom'], env);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toContain(`sbom apps/demo/dist/sbom.cdx.json ${digest} packages=1`);
    expect((await engine.inspectImage(`${registry.host}/engex/demo:${SHA}`))!.labels['io.hspt.sbom.digest']).toBe(digest);
    // Baked as written: not rewritten by the build.
    expect(await readFile(file, 'utf8')).toBe(text);
  }, 180_000);

  it(`--source-date-epoch commit: two builds of one commit at different times give the same image`, async () => {
    const repo = await createTempWorkspace({
      git: true,
      packages: { 'apps/demo': servicePackage('@engex/demo', { description: 'demo service', port: 3000 }) },
      files: demoFiles(),
    });
    const head = repo.head!;
    const refs = [`engex/demo:${head}`, `${registry.host}/engex/demo:${head}`];
    try {
      await copyFile('/bin/busybox', join(repo.root, 'docker/busybox'));
      await chmod(join(repo.root, 'docker/busybox'), 0o755);
      // No SOURCE_DATE_EPOCH in the environment: what a Buildkite agent has.
      const build = async (at: string, flags: string[]) => {
        const code = await main(['image', 'build', ...project, ...flags], {
          stdout: () => {},
          stderr: () => {},
          env: hermeticEnv({ REGISTRY: registry.host, NODE_IMAGE: 'scratch', BUILDKITE_COMMIT: head }),
          cwd: repo.root,
          now: () => new Date(at),
        });
        expect(code).toBe(0);
        return (await engine.inspectImage(refs[1]!))!;
      };
      const committed = (await runCommand('git', ['show', '-s', '--format=%ct', head], { cwd: repo.root })).stdout.trim();
      const first = await build('2026-11-27T10:00:00Z', ['--source-date-epoch', 'commit']);
      const retried = await build('2026-11-27T11:30:00Z', ['--source-date-epoch', 'commit']);
      expect(first.labels[OCI.created]).toBe(new Date(Number(committed) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
      // The README is in the commit: the label links to it at that revision.
      expect(first.labels[OCI.documentation]).toBe(`https://github.com/highspot/halow/blob/${head}/apps/demo/README.md`);
      // Same labels, so the legacy builder's layer cache gives the very same image (see the README on fresh agents).
      expect(retried.id).toBe(first.id);
      // The clock, without the flag: a different `created`, so a different image.
      const clocked = await build('2026-11-27T11:30:00Z', []);
      expect(clocked.labels[OCI.created]).toBe('2026-11-27T11:30:00Z');
      expect(clocked.id).not.toBe(first.id);
    } finally {
      await runCommand('docker', ['rmi', '--force', ...refs], { allowFailure: true });
      await repo.cleanup();
    }
  }, 180_000);

  it('--source-date-epoch takes only "commit"', async () => {
    let stderr = '';
    const code = await main(['image', 'build', ...project, '--source-date-epoch', '1767225600'], {
      stdout: () => {},
      stderr: (t) => (stderr += t),
      env: hermeticEnv({}),
      cwd: tmpdir(),
      now: () => new Date(0),
    });
    expect(code).toBe(2);
    expect(stderr).toContain('--source-date-epoch: expected "commit", got "1767225600"; to pin a time, set SOURCE_DATE_EPOCH instead');
  });

  it('fails with exit 3 and both digests when the sha tag holds a foreign image', async () => {
    const dest = `${registry.host}/engex/demo:${SHA2}`;
    await buildScratchImage(engine, [dest], { files: { '/x': 'foreign' }, labels: { [OCI.revision]: 'someone else' } });
    await engine.push(dest);
    const client = createRegistryClient({ registry: { host: registry.host, protocol: 'http' } });
    const foreign = await client.inspectImage('engex/demo', SHA2);

    const env = { BUILDKITE_COMMIT: SHA2 };
    expect((await cli(['image', 'build', ...project], env)).code).toBe(0);
    const ours = (await engine.inspectImage(dest))!;
    const result = await cli(['image', 'push', ...project], env);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`Immutable tag conflict: ${dest} already exists with a different image.`);
    expect(result.stderr).toContain(`registry: manifest ${foreign!.manifestDigest}, image id ${foreign!.configDigest}, revision label someone else`);
    expect(result.stderr).toContain(`local:    image id ${ours.id}, revision ${SHA2}`);
    expect(await client.inspectImage('engex/demo', SHA2)).toEqual(foreign);
    expect((await client.headManifest('engex/demo', SHA2.slice(0, 7))).exists).toBe(false);
  }, 180_000);
});
