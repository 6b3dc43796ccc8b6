import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlRequirement } from '../testing/requirements.js';
import { deployBump, type DeployBumpOptions } from './deploy-bump.js';
import { runCommand } from './run-command.js';

// What ArgoCD would run: each overlay is bumped in a real bare repo, then rendered with the real
// `kubectl kustomize`, and the Deployment's container image is read from the output.

const ECR = '460210468233.dkr.ecr.us-east-1.amazonaws.com';
const IMAGE = `${ECR}/engex/halow`;
const SHA = '0123456789abcdef0123456789abcdef01234567';
const DIGEST = `sha256:${'c'.repeat(64)}`;
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'seed', GIT_AUTHOR_EMAIL: 'seed@example.com', GIT_COMMITTER_NAME: 'seed', GIT_COMMITTER_EMAIL: 'seed@example.com' };

const deployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: halow
spec:
  selector:
    matchLabels: { app: halow }
  template:
    metadata:
      labels: { app: halow }
    spec:
      containers:
        - name: halow
          image: ${image}
        - name: sidecar
          image: busybox:1.36
`;
const kustomization = (body: string) => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${body}`;

/** The seed's overlays: every name form and file name the bump must find. */
const OPS_FILES: Record<string, string> = {
  'base/deployment.yaml': deployment('engex/halow:bootstrap'),
  'base/kustomization.yaml': kustomization('resources:\n  - deployment.yaml\n'),
  'base-ecr/deployment.yaml': deployment(`${IMAGE}:bootstrap`),
  'base-ecr/kustomization.yaml': kustomization('resources:\n  - deployment.yaml\n'),
  // The finding: the base names the container without registry and the overlay follows it.
  'overlays/staging/kustomization.yaml': kustomization('resources:\n  - ../../base\nimages:\n  - name: engex/halow\n    newTag: old\n'),
  // Rewrites the short name to ECR, in a .yml file.
  'overlays/staging-eu/kustomization.yml': kustomization(`resources:\n  - ../../base\nimages:\n  - name: engex/halow\n    newName: ${IMAGE}\n    newTag: old\n`),
  // Full ECR names throughout, in a file named Kustomization.
  'overlays/production/Kustomization': kustomization(`resources:\n  - ../../base-ecr\nimages:\n  - name: ${IMAGE} # bumped by CI\n    newTag: old\n`),
  // Pinned by digest: newTag and digest move together.
  'overlays/pinned/kustomization.yaml': kustomization(`resources:\n  - ../../base-ecr\nimages:\n  - name: ${IMAGE}\n    newTag: old\n    digest: sha256:${'a'.repeat(64)}\n`),
};

const kubectl = kubectlRequirement();

describe.skipIf(kubectl.skip)(`deploy bump, rendered by kubectl kustomize ${kubectl.reason}`, () => {
  let dir: string;
  let bare: string;

  beforeAll(async () => {
    kubectl.assertAvailable();
    dir = await mkdtemp(join(tmpdir(), 'engex-render-spec-'));
    bare = join(dir, 'halow-ops.git');
    const seed = join(dir, 'seed');
    await runCommand('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], { env: ENV });
    await runCommand('git', ['init', '--quiet', '--initial-branch=main', seed], { env: ENV });
    for (const [path, text] of Object.entries(OPS_FILES)) {
      await mkdir(dirname(join(seed, path)), { recursive: true });
      await writeFile(join(seed, path), text);
    }
    const git = (...args: string[]) => runCommand('git', args, { cwd: seed, env: ENV });
    await git('add', '.');
    await git('commit', '--quiet', '-m', 'seed');
    await git('push', '--quiet', bare, 'main');
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const bump = (overlay: string, over: Partial<DeployBumpOptions> = {}) =>
    deployBump({
      repo: bare,
      overlay,
      image: IMAGE,
      tag: SHA,
      message: { service: 'halow', revision: SHA, sourceUrl: 'https://github.com/highspot/halow' },
      author: { name: 'engex-ci', email: 'engex-ci@example.com' },
      env: ENV,
      ...over,
    });

  /** The halow container's image after `kubectl kustomize` of the overlay at the tip of main. */
  async function rendered(overlay: string): Promise<string> {
    const checkout = await mkdtemp(join(dir, 'render-'));
    await runCommand('git', ['clone', '--quiet', bare, checkout], { env: ENV });
    const out = (await runCommand('kubectl', ['kustomize', join(checkout, overlay)], { env: ENV })).stdout;
    const docs = parseAllDocuments(out).map((d) => d.toJS() as { kind: string; spec: { template: { spec: { containers: { name: string; image: string }[] } } } });
    const containers = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec.containers;
    expect(containers.find((c) => c.name === 'sidecar')?.image).toBe('busybox:1.36');
    return containers.find((c) => c.name === 'halow')!.image;
  }

  it('renders the old tag before any bump (the fixture is what kustomize sees)', async () => {
    expect(await rendered('overlays/staging')).toBe('engex/halow:old');
    expect(await rendered('overlays/staging-eu')).toBe(`${IMAGE}:old`);
  });

  it('edits the entry named without registry host, so the Deployment runs the new tag', async () => {
    await expect(bump('overlays/staging')).resolves.toMatchObject({ status: 'bumped', previousTag: 'old', created: false });
    expect(await rendered('overlays/staging')).toBe(`engex/halow:${SHA}`);
  });

  it('edits the entry whose newName is the image, in kustomization.yml', async () => {
    await expect(bump('overlays/staging-eu')).resolves.toMatchObject({ path: 'overlays/staging-eu/kustomization.yml' });
    expect(await rendered('overlays/staging-eu')).toBe(`${IMAGE}:${SHA}`);
  });

  it('edits the full-name entry in a file named Kustomization, keeping its comment', async () => {
    await expect(bump('overlays/production')).resolves.toMatchObject({ path: 'overlays/production/Kustomization' });
    expect(await rendered('overlays/production')).toBe(`${IMAGE}:${SHA}`);
  });

  it('refuses a stale digest, and with pinDigest renders exactly the pushed digest', async () => {
    await expect(bump('overlays/pinned')).rejects.toThrow(/pins digest sha256:a{64}/);
    expect(await rendered('overlays/pinned')).toBe(`${IMAGE}:old@sha256:${'a'.repeat(64)}`);
    await bump('overlays/pinned', { digest: DIGEST, pinDigest: true });
    expect(await rendered('overlays/pinned')).toBe(`${IMAGE}:${SHA}@${DIGEST}`);
  });

  it('refuses an image no entry deploys instead of appending one that matches no container', async () => {
    await expect(bump('overlays/staging', { image: `${ECR}/engex/halw`, tag: 'f'.repeat(40) })).rejects.toThrow(/no images\[\] entry deploys .*engex\/halw/);
    expect(await rendered('overlays/staging')).toBe(`engex/halow:${SHA}`);
  });
});
