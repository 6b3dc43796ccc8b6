import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { withFreePort } from '@engex/ci-lib';
import {
  describeNeeding,
  dockerRequirement,
  findRepoRoot,
  kubectlRequirement,
  registryRequirement,
  startLocalRegistry,
  uploadTestImage,
  type LocalRegistry,
} from '@engex/ci-lib/testing';
import { LOCAL_BASE_REPOSITORY, buildLocalBase } from '../src/index.js';
import { cloneWorkspace, type TempWorkspace } from '../src/lib/temp-workspace.js';

/**
 * The whole chain on a real Docker engine, registry and ops repo: `engex-pipeline run --local`
 * on a temp clone of this repo, with the bundles `nx run-many -t build` made (the test target
 * depends on them). Each run is a full pipeline, so the scenarios share one clone and go in order.
 */

const run = promisify(execFile);
// The one way a suite needs outside parts: skipped with the reason without an engine, the
// registry or kubectl (deploy bump proves each bump with a render), failed where ENGEX_REQUIRE
// names them (.ci/run).
const needs = [dockerRequirement(), registryRequirement(), kubectlRequirement()];
const repo = findRepoRoot(fileURLToPath(new URL('.', import.meta.url)));
const BUNDLE = 'tools/pipeline-generator/dist/engex-pipeline.cjs';
const ENGEX_CI_BUNDLE = 'libs/ci-lib/dist/engex-ci.cjs';
const REPOSITORY = 'engex/halow';
const MINUTES = 60_000;
/** A test that runs the pipeline (again): it gets the pipeline's time, where the others need the default. */
const itRunsThePipeline = (name: string, body: () => Promise<void>): void => it(name, body, 15 * MINUTES);

const OCI = 'org.opencontainers.image';

interface PipelineRun {
  code: number;
  stderr: string;
  runDir: string;
}

/** What the nested run may see of this machine: where programs, the engine and the npm cache are. */
const PASSED_THROUGH = ['PATH', 'HOME', 'USER', 'LANG', 'TMPDIR', 'DOCKER_HOST', 'DOCKER_CONFIG', 'npm_config_cache'];

/**
 * The nested pipeline's whole environment. Nothing ambient passes but PATH-like basics: the outer
 * Nx/vitest variables would point the inner Nx at this repo, and a caller's SOURCE_DATE_EPOCH,
 * BUILDKITE_* or REGISTRY would change what the run builds and where it pushes.
 */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of PASSED_THROUGH) if (process.env[name] !== undefined) env[name] = process.env[name];
  return { ...env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', ...extra };
}

async function registryGet(host: string, path: string, accept?: string): Promise<Response> {
  return fetch(`http://${host}/v2/${path}`, accept ? { headers: { Accept: accept } } : {});
}

const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

async function tagDigest(host: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`http://${host}/v2/${REPOSITORY}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT } });
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
}

async function tags(host: string): Promise<string[]> {
  const res = await registryGet(host, `${REPOSITORY}/tags/list`);
  if (res.status === 404) return [];
  return ((await res.json()) as { tags: string[] | null }).tags ?? [];
}

describeNeeding(needs, 'engex-pipeline run --local, end to end', () => {
  let tmp: string;
  let ws: TempWorkspace;
  let registry: LocalRegistry;
  let nodeImage: string;
  let ops: string;
  let firstSha: string;

  const runPipeline = (args: string[]): Promise<PipelineRun> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(ws.root, BUNDLE), 'run', '--local', ...args], {
        cwd: ws.root,
        env: cleanEnv({ ENGEX_E2E_NESTED: '1', REGISTRY: registry.host, NODE_IMAGE: nodeImage, NX_CACHE_DIRECTORY: join(tmp, 'nx-cache') }),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const runDir = /Logs, annotations and artifacts: (.+)$/m.exec(stderr)?.[1] ?? '';
        resolve({ code: code ?? -1, stderr, runDir });
      });
    });

  const opsGit = async (args: string[]): Promise<string> => (await run('git', ['--git-dir', ops, ...args])).stdout.trim();
  const stepKinds = async (runDir: string): Promise<string[]> => {
    type Meta = { kind: string; target?: string; targets?: string[] };
    type Step = { steps?: Step[]; meta?: Meta };
    const pipeline = JSON.parse(await readFile(join(runDir, 'pipeline.json'), 'utf8')) as { steps: Step[] };
    return pipeline.steps
      .flatMap((s): Step[] => s.steps ?? [s])
      .flatMap((s) =>
        s.meta?.kind === 'nx-task' ? [`nx:${s.meta.target}`] : s.meta?.kind === 'nx-project' ? (s.meta.targets ?? []).map((t) => `nx:${t}`) : [s.meta?.kind ?? '?'],
      );
  };
  const explain = (r: PipelineRun): string => `exit ${r.code}\n${r.stderr.slice(-6000)}`;

  beforeAll(async () => {
    if (process.env['ENGEX_E2E_NESTED']) {
      throw new Error('The e2e test ran inside the pipeline it started: a change made in the temp clone must not affect @engex/e2e.');
    }
    for (const bundle of [BUNDLE, ENGEX_CI_BUNDLE]) {
      if (!existsSync(join(repo, bundle))) throw new Error(`${bundle} is missing: run \`npx nx run-many -t build\` first (the test target depends on it).`);
    }
    tmp = await mkdtemp(join(tmpdir(), 'engex-e2e-'));
    nodeImage = (await buildLocalBase({ env: cleanEnv({}) })).tag;
    registry = await startLocalRegistry({ storageDir: join(tmp, 'registry') });
    ws = await cloneWorkspace(repo, join(tmp, 'ws'));
    // The clone runs its own copy of the runner bundle: a rebuild in this checkout must not pull it away mid-test.
    // So does the engex-ci bundle the run's closing `engex-ci status` reads with: every job builds
    // its own in its fresh clone, none in this checkout (as `npm run pipeline:local` builds it first).
    for (const bundle of [BUNDLE, ENGEX_CI_BUNDLE]) {
      await mkdir(join(ws.root, dirname(bundle)), { recursive: true });
      await copyFile(join(repo, bundle), join(ws.root, bundle));
    }
    ops = join(ws.root, '.engex-local/ops/halow-ops.git');
    // A one-line source change to halow, committed: the pipeline builds, pushes and deploys it.
    firstSha = await ws.commitAppend('apps/halow/src/app.ts', '// e2e: first change\n', 'e2e: change halow');
  }, 10 * MINUTES);

  afterAll(async () => {
    // The image steps tag every build locally too; untag them, and prune the first-stage leftovers
    // of the multi-stage build (untagged, still labelled with the local base's title).
    const shas = ws ? (await ws.git(['log', '--format=%H', '-5'])).split('\n') : [];
    const refs = shas.flatMap((sha) => [`${REPOSITORY}:${sha}`, ...(registry ? [`${registry.host}/${REPOSITORY}:${sha}`] : [])]);
    await run('docker', ['image', 'rm', '-f', ...refs]).catch(() => undefined);
    await run('docker', ['image', 'prune', '-f', '--filter', `label=org.opencontainers.image.title=${LOCAL_BASE_REPOSITORY}`]).catch(() => undefined);
    await registry?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  let first: PipelineRun;

  itRunsThePipeline('runs the pipeline of a halow change: tests, image (build, push, smoke), scan, deploy', async () => {
    first = await runPipeline(['--base', 'HEAD~1']);
    expect(first.code, explain(first)).toBe(0);
    expect(await stepKinds(first.runDir)).toEqual(expect.arrayContaining(['nx:test', 'nx:build', 'image', 'scan', 'deploy']));
    // Without the Trivy image in the engine the scan is reported as skipped, never as passed.
    if (/SKIPPED\s+\S+\s+:shield: scan halow/.test(first.stderr))
      expect(first.stderr).toMatch(/:shield: scan halow\s+the Trivy image aquasec\/trivy:\S+ is not in the local Docker engine/);
  });

  it('(1) pushed <registry>/engex/halow:<full sha> with every OCI label at the right value', async () => {
    const manifestRes = await registryGet(registry.host, `${REPOSITORY}/manifests/${firstSha}`, MANIFEST_ACCEPT);
    expect(manifestRes.status).toBe(200);
    const manifest = (await manifestRes.json()) as { config: { digest: string } };
    const config = (await (await registryGet(registry.host, `${REPOSITORY}/blobs/${manifest.config.digest}`)).json()) as {
      config: { Labels: Record<string, string>; User: string };
    };
    const commitTime = Number(await ws.git(['log', '-1', '--format=%ct', firstSha]));
    const workspace = JSON.parse(await readFile(join(ws.root, 'engex.config.json'), 'utf8')) as { source: string; vendor: string };
    const halow = JSON.parse(await readFile(join(ws.root, 'apps/halow/package.json'), 'utf8')) as {
      nx: { metadata: { engex: { description: string } } };
    };
    expect(config.config.Labels).toEqual(
      expect.objectContaining({
        [`${OCI}.revision`]: firstSha,
        // A local run builds with SOURCE_DATE_EPOCH = the commit time, so re-runs are reproducible.
        [`${OCI}.created`]: new Date(commitTime * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        [`${OCI}.source`]: workspace.source,
        [`${OCI}.url`]: workspace.source,
        [`${OCI}.version`]: firstSha,
        [`${OCI}.title`]: 'halow',
        [`${OCI}.description`]: halow.nx.metadata.engex.description,
        [`${OCI}.vendor`]: workspace.vendor,
        [`${OCI}.licenses`]: 'LicenseRef-Proprietary',
        [`${OCI}.base.name`]: `docker.io/${nodeImage}`,
        'io.hspt.build.url': `local://local/${firstSha}`,
        'io.hspt.buildkite.pipeline': 'local',
        'io.hspt.buildkite.branch': 'main',
        [`${OCI}.authors`]: 'engex',
        'io.hspt.sbom.digest': expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      }),
    );
    // ref.name belongs on index descriptors, not on the image config.
    expect(config.config.Labels).not.toHaveProperty(`${OCI}.ref.name`);
  });

  it('(2) a container from the pushed image answers /healthz, reports the sha on /version, and is not root', async () => {
    const image = `${registry.host}/${REPOSITORY}:${firstSha}`;
    await run('docker', ['pull', '--quiet', image]);
    // Host networking: a port free when asked may be bound by another process before the service
    // binds it; then the service exits with EADDRINUSE and runs again on a new port.
    const { id, port } = await withFreePort(async (port) => {
      const id = (await run('docker', ['run', '-d', '--network', 'host', '-e', `PORT=${port}`, '-e', 'HOST=127.0.0.1', image])).stdout.trim();
      for (let i = 0; i < 60; i++) {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200) return { id, port };
        const running = (await run('docker', ['inspect', '--format', '{{.State.Running}}', id])).stdout.trim() === 'true';
        if (!running) {
          const logs = await run('docker', ['logs', id]).catch((e: { stderr?: string }) => ({ stdout: '', stderr: e.stderr ?? '' }));
          await run('docker', ['rm', '-f', id]).catch(() => undefined);
          throw new Error(`the container exited before answering /healthz:\n${logs.stdout}${logs.stderr}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      await run('docker', ['rm', '-f', id]).catch(() => undefined);
      throw new Error(`no 200 from /healthz on port ${port} after 60 tries`);
    });
    try {
      const version = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { revision: string };
      expect(version.revision).toBe(firstSha);
      const uid = (await run('docker', ['exec', id, 'id', '-u'])).stdout.trim();
      expect(uid).not.toBe('0');
      // Every process of the container (tini and node), as the host's ps sees them.
      const uids = (await run('docker', ['top', id, '-o', 'pid,uid'])).stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/)[1]);
      expect(uids.length).toBeGreaterThan(0);
      expect(uids.filter((u) => u === '0')).toEqual([]);
    } finally {
      await run('docker', ['rm', '-f', id]).catch(() => undefined);
    }
  });

  it('(3) the ops repo got exactly one commit setting newTag in overlays/staging, comments intact', async () => {
    // The seed commit, then the bump.
    expect((await opsGit(['log', '--format=%H', 'main'])).split('\n')).toHaveLength(2);
    const changed = (await opsGit(['show', '--name-only', '--format=', 'main'])).split('\n');
    expect(changed).toEqual(['overlays/staging/kustomization.yaml']);
    const staging = await opsGit(['show', 'main:overlays/staging/kustomization.yaml']);
    const seeded = await opsGit(['show', 'main~1:overlays/staging/kustomization.yaml']);
    const images = (parse(staging) as { images: { name: string; newTag: string }[] }).images;
    expect(images).toHaveLength(1);
    expect(images[0]!.newTag).toBe(firstSha);
    const comments = (text: string): string[] =>
      text
        .split('\n')
        .map((l) => l.replace(/^[^#]*#?/, ''))
        .filter(Boolean);
    expect(comments(staging)).toEqual(comments(seeded));
    expect(await opsGit(['show', 'main:overlays/production/kustomization.yaml'])).toBe(await opsGit(['show', 'main~1:overlays/production/kustomization.yaml']));
  });

  it('(3b) the image step recorded the pushed digest as meta-data, the bump committed it, and status shows the deployed commit', async () => {
    const digest = await tagDigest(registry.host, firstSha);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // `meta-data set k < file` keeps stdin whole, as the agent does: the digest file's line, newline included.
    expect(await readFile(join(first.runDir, 'meta-data', `${encodeURIComponent('engex:halow:digest')}.txt`), 'utf8')).toBe(`${digest}\n`);
    expect(await opsGit(['log', '-1', '--format=%B', 'main'])).toContain(digest as string);
    const status = first.stderr.slice(first.stderr.indexOf('\nStatus ('));
    expect(status, explain(first)).toMatch(/^\nStatus \(.*status --ops-repo /);
    expect(status).toContain(firstSha.slice(0, 7));
  });

  itRunsThePipeline('(4) a second run of the same commit pushes nothing and commits nothing', async () => {
    const digest = await tagDigest(registry.host, firstSha);
    const opsHead = await opsGit(['rev-parse', 'main']);
    const again = await runPipeline(['--base', 'HEAD~1']);
    expect(again.code, explain(again)).toBe(0);
    // engex-ci's push verdict, in the image job's log: the digest was already in the registry. The
    // job's note is its last line, the smoke test's verdict, since the smoke test ends the job.
    const imageLog = await readFile(join(again.runDir, 'logs', 'engex-halow_image.log'), 'utf8');
    expect(imageLog).toMatch(/unchanged .*already in the registry; nothing pushed|kept .*an earlier build of the same commit pushed it/);
    expect(again.stderr).toMatch(/ok\s+\S+\s+:docker: image halow\s+smoke ok /);
    expect(await tagDigest(registry.host, firstSha)).toBe(digest);
    expect(await opsGit(['rev-parse', 'main'])).toBe(opsHead);
  });

  itRunsThePipeline('(5) a tag that already points at a different image fails with exit 3 and changes nothing', async () => {
    const sha = await ws.commitAppend('apps/halow/src/app.ts', '// e2e: conflicting change\n', 'e2e: change halow again');
    const squatter = await uploadTestImage(registry.host, REPOSITORY, sha, { content: 'not the halow image' });
    const tagsBefore = (await tags(registry.host)).sort();
    const opsHead = await opsGit(['rev-parse', 'main']);
    const conflict = await runPipeline(['--base', 'HEAD~1']);
    expect(conflict.code, explain(conflict)).toBe(3);
    expect(conflict.stderr).toMatch(/FAILED\s+\S+\s+:docker: image halow/);
    expect(conflict.stderr).toContain(squatter.manifestDigest);
    expect(conflict.stderr).toMatch(/not run\s+\S+\s+:rocket: deploy halow/);
    expect(await tagDigest(registry.host, sha)).toBe(squatter.manifestDigest);
    expect((await tags(registry.host)).sort()).toEqual(tagsBefore);
    expect(await opsGit(['rev-parse', 'main'])).toBe(opsHead);
  });

  itRunsThePipeline('(6) a spec-only change runs the tests and builds no image', async () => {
    const sha = await ws.commitAppend('apps/halow/src/app.spec.ts', '// e2e: spec-only change\n', 'e2e: touch a halow spec');
    const tagsBefore = (await tags(registry.host)).sort();
    const specOnly = await runPipeline(['--base', 'HEAD~1']);
    expect(specOnly.code, explain(specOnly)).toBe(0);
    const kinds = await stepKinds(specOnly.runDir);
    expect(kinds).toContain('nx:test');
    expect(kinds.filter((k) => ['image', 'scan', 'deploy'].includes(k))).toEqual([]);
    expect(await tagDigest(registry.host, sha)).toBeUndefined();
    expect((await tags(registry.host)).sort()).toEqual(tagsBefore);
  });
});
