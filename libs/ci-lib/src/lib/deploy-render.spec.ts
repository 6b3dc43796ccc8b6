import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding, kubectlRequirement } from '../testing/requirements.js';
import { deployBump, type DeployBumpOptions } from './deploy-bump.js';
import { OutsideCloneError } from './ops-clone.js';
import { exitCodeFor, ManifestError } from './errors.js';
import { readContainerImages } from './kustomize-images.js';
import { runCommand } from './run-command.js';

// The matrix of issue 20: each layout is its own ops repo (a real bare git repo). The overlay is
// rendered with the real `kubectl kustomize` before and after the bump, and the bump's outcome
// (changed, refused, unchanged) must be what the render shows: changed means every container of
// the service renders the pushed ECR reference and nothing else moved; refused and unchanged
// mean the render (and the repo) did not move.

const ECR = '460210468233.dkr.ecr.us-east-1.amazonaws.com';
const IMAGE = `${ECR}/engex/halow`;
const SHA = '0123456789abcdef0123456789abcdef01234567';
const DIGEST = `sha256:${'c'.repeat(64)}`;
const OLD_DIGEST = `sha256:${'a'.repeat(64)}`;
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'seed', GIT_AUTHOR_EMAIL: 'seed@example.com', GIT_COMMITTER_NAME: 'seed', GIT_COMMITTER_EMAIL: 'seed@example.com' };

const deployment = (containers: string[], init: string[] = []) => `apiVersion: apps/v1
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
${init.length > 0 ? `      initContainers:\n${init.map((image, i) => `        - name: migrate${i}\n          image: ${image}\n`).join('')}` : ''}      containers:
${containers.map((image, i) => `        - name: halow${i}\n          image: ${image}\n`).join('')}        - name: sidecar
          image: busybox:1.36
`;
const cronJob = (image: string) => `apiVersion: batch/v1
kind: CronJob
metadata:
  name: halow-nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: nightly
              image: ${image}
`;
const kustomization = (body: string) => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${body}`;
const base = (resource: string, extra = '') => ({ 'base/res.yaml': resource, 'base/kustomization.yaml': kustomization(`resources:\n  - res.yaml\n${extra}`) });
const overlay = (images: string, extra = '') => ({ 'overlays/staging/kustomization.yaml': kustomization(`resources:\n  - ../../base\n${extra}images:\n${images}`) });

type Outcome = 'changed' | 'refused' | 'unchanged';
interface Layout {
  name: string;
  files: Record<string, string>;
  expected: Outcome;
  /** The refusal's message, when refused. */
  refusal?: RegExp;
  options?: Partial<DeployBumpOptions>;
}

const LAYOUTS: Layout[] = [
  {
    name: 'finding 1: ECR base, overlay entry without registry',
    files: { ...base(deployment([`${IMAGE}:bootstrap`])), ...overlay('  - name: engex/halow\n    newTag: old\n') },
    expected: 'refused',
    refusal:
      /no images\[\] entry matches these containers .*\n {2}Deployment\/halow spec.template.spec.containers\[0\] \(halow0\): 460210468233.dkr.ecr.us-east-1.amazonaws.com\/engex\/halow:bootstrap/,
  },
  {
    name: 'finding 1: short base, full-name entry',
    files: { ...base(deployment(['engex/halow:bootstrap'])), ...overlay(`  - name: ${IMAGE}\n    newTag: old\n`) },
    expected: 'refused',
    refusal: /no images\[\] entry matches .*\n.*engex\/halow:bootstrap/,
  },
  {
    name: 'finding 1: base renames through newName, overlay entry by the old short name',
    files: { ...base(deployment(['halow:bootstrap']), `images:\n  - name: halow\n    newName: ${IMAGE}\n`), ...overlay('  - name: engex/halow\n    newTag: old\n') },
    expected: 'refused',
    refusal: /no images\[\] entry matches/,
  },
  {
    name: 'finding 2: short name, no newName (sets newName, never Docker Hub)',
    files: { ...base(deployment(['engex/halow:bootstrap'])), ...overlay('  - name: engex/halow\n    newTag: old\n') },
    expected: 'changed',
  },
  {
    name: 'full ECR names throughout',
    files: { ...base(deployment([`${IMAGE}:bootstrap`])), ...overlay(`  - name: ${IMAGE} # bumped by CI\n    newTag: old\n`) },
    expected: 'changed',
  },
  {
    name: 'newName chain across two entries',
    files: { ...base(deployment(['halow:bootstrap'])), ...overlay(`  - name: halow\n    newName: engex/halow\n  - name: engex/halow\n    newName: ${IMAGE}\n    newTag: old\n`) },
    expected: 'changed',
  },
  {
    name: 'component renames, overlay tags',
    files: {
      ...base(deployment(['engex/halow:bootstrap'])),
      'components/ecr/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nimages:\n  - name: engex/halow\n    newName: ${IMAGE}\n`,
      ...overlay(`  - name: ${IMAGE}\n    newTag: old\n`, 'components:\n  - ../../components/ecr\n'),
    },
    expected: 'changed',
  },
  {
    name: 'digest pin, with pinDigest',
    files: { ...base(deployment([`${IMAGE}:bootstrap`])), ...overlay(`  - name: ${IMAGE}\n    newTag: old\n    digest: ${OLD_DIGEST}\n`) },
    expected: 'changed',
    options: { pinDigest: true, digest: DIGEST },
  },
  {
    name: 'digest pin, without pinDigest',
    files: { ...base(deployment([`${IMAGE}:bootstrap`])), ...overlay(`  - name: ${IMAGE}\n    newTag: old\n    digest: ${OLD_DIGEST}\n`) },
    expected: 'refused',
    refusal: /pins digest sha256:a{64}/,
  },
  {
    name: 'init container and container',
    files: { ...base(deployment([`${IMAGE}:bootstrap`], [`${IMAGE}:bootstrap`])), ...overlay(`  - name: ${IMAGE}\n    newTag: old\n`) },
    expected: 'changed',
  },
  {
    name: 'CronJob (jobTemplate)',
    files: { ...base(cronJob(`${IMAGE}:bootstrap`)), ...overlay(`  - name: ${IMAGE}\n    newTag: old\n`) },
    expected: 'changed',
  },
  {
    name: 'two containers sharing the image',
    files: { ...base(deployment([`${IMAGE}:bootstrap`, `${IMAGE}:bootstrap`])), ...overlay(`  - name: ${IMAGE}\n    newTag: old\n`) },
    expected: 'changed',
  },
  {
    name: 'init container by short name, container by ECR name',
    files: { ...base(deployment([`${IMAGE}:bootstrap`], ['engex/halow:bootstrap'])), ...overlay(`  - name: ${IMAGE}\n    newTag: old\n`) },
    expected: 'refused',
    refusal: /no images\[\] entry matches .*\n.*initContainers\[0\] \(migrate0\): engex\/halow:bootstrap/,
  },
  {
    name: 'already at the tag',
    files: { ...base(deployment([`${IMAGE}:bootstrap`])), ...overlay(`  - name: ${IMAGE}\n    newTag: "${SHA}"\n`) },
    expected: 'unchanged',
  },
  {
    name: 'finding 6: newTag written as a YAML alias',
    files: {
      ...base(deployment([`${IMAGE}:bootstrap`])),
      'overlays/staging/kustomization.yaml': kustomization(
        `resources:\n  - ../../base\nlabels:\n  - pairs:\n      release: &tag old\nimages:\n  - name: ${IMAGE}\n    newTag: *tag\n`,
      ),
    },
    expected: 'refused',
    refusal: /images\[0\]\.newTag is a YAML alias or anchor/,
  },
  {
    name: 'an entry that renames to another repository',
    files: { ...base(deployment([`${IMAGE}:bootstrap`])), ...overlay(`  - name: ${IMAGE}\n    newName: ${ECR}/engex/halow-canary\n    newTag: old\n`) },
    expected: 'refused',
    refusal: /renames it to .*halow-canary, not the pushed/,
  },
];

const isService = (image: string) => image.includes('halow');

describeNeeding([kubectlRequirement()], 'deploy bump, proven by kubectl kustomize', () => {
  let dir: string;
  const table: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engex-render-spec-'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    // The matrix as a table, for the issue's closing note.
    if (table.length > 0 && process.env['ENGEX_PRINT_MATRIX'])
      console.info(['| layout | render before | render after | bump outcome |', '| --- | --- | --- | --- |', ...table].join('\n'));
  });

  /** A bare ops repo holding `files`, pushed as one commit on main. */
  async function opsRepo(name: string, files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(join(dir, 'ops-'));
    const bare = join(root, `${name}.git`);
    const seed = join(root, 'seed');
    await runCommand('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], { env: ENV });
    await runCommand('git', ['init', '--quiet', '--initial-branch=main', seed], { env: ENV });
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(seed, path)), { recursive: true });
      await writeFile(join(seed, path), text);
    }
    const git = (...args: string[]) => runCommand('git', args, { cwd: seed, env: ENV });
    await git('add', '.');
    await git('commit', '--quiet', '-m', 'seed');
    await git('push', '--quiet', bare, 'main');
    return bare;
  }

  /** The service's container images as `kubectl kustomize` renders the overlay at the tip of main. */
  async function rendered(bare: string): Promise<string[]> {
    const checkout = await mkdtemp(join(dir, 'render-'));
    await runCommand('git', ['clone', '--quiet', bare, checkout], { env: ENV });
    const out = (await runCommand('kubectl', ['kustomize', join(checkout, 'overlays/staging')], { env: ENV })).stdout;
    const images = readContainerImages(out);
    // The sidecar is never the service's: whatever the bump does, it must not move.
    expect(images.filter((c) => c.container === 'sidecar').map((c) => c.image)).toEqual(images.some((c) => c.container === 'sidecar') ? ['busybox:1.36'] : []);
    return images.filter((c) => isService(c.image)).map((c) => `${c.path.replace(/^spec\.(template\.spec\.|jobTemplate\.spec\.template\.spec\.)/, '')}=${c.image}`);
  }

  const bump = (repo: string, over: Partial<DeployBumpOptions> = {}) =>
    deployBump({
      repo,
      overlay: 'overlays/staging',
      image: IMAGE,
      tag: SHA,
      message: { service: 'halow', revision: SHA, sourceUrl: 'https://github.com/highspot/halow' },
      author: { name: 'engex-ci', email: 'engex-ci@example.com' },
      env: ENV,
      ...over,
    });

  const commits = async (bare: string) => Number((await runCommand('git', ['rev-list', '--count', 'main'], { cwd: bare, env: ENV })).stdout.trim());

  it('has at least 12 layouts', () => expect(LAYOUTS.length).toBeGreaterThanOrEqual(12));

  it.each(LAYOUTS.map((l) => [l.name, l] as const))('%s: the outcome is what the render shows', async (_name, layout) => {
    const bare = await opsRepo('halow-ops', layout.files);
    const before = await rendered(bare);
    expect(before.length).toBeGreaterThan(0);
    let outcome: Outcome;
    let refusal = '';
    try {
      const result = await bump(bare, layout.options);
      outcome = result.status === 'bumped' ? 'changed' : 'unchanged';
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      outcome = 'refused';
      refusal = error.message;
      expect(exitCodeFor(error)).toBe(2);
    }
    const after = await rendered(bare);
    table.push(
      `| ${layout.name} | ${before.map((b) => `\`${b}\``).join('<br>')} | ${after.map((a) => `\`${a}\``).join('<br>')} | ${outcome}${
        refusal
          ? ` (${refusal
              .split('\n')[0]!
              .replace(/^[^:]+: /, '')
              .slice(0, 90)}…)`
          : ''
      } |`,
    );
    const want = `${IMAGE}:${SHA}${layout.options?.pinDigest ? `@${DIGEST}` : ''}`;
    if (outcome === 'changed') {
      expect(after.every((a) => a.endsWith(`=${want}`))).toBe(true);
      expect(after).not.toEqual(before);
      expect(await commits(bare)).toBe(2);
    } else {
      expect(after).toEqual(before);
      expect(await commits(bare)).toBe(1);
      if (outcome === 'unchanged') expect(after.every((a) => a.endsWith(`=${want}`))).toBe(true);
    }
    expect(outcome).toBe(layout.expected);
    if (layout.refusal) expect(refusal).toMatch(layout.refusal);
  });

  it('finding 2: the short-named container renders the ECR name; the entry keeps its comment and gains newName', async () => {
    const bare = await opsRepo('halow-ops', { ...base(deployment(['engex/halow:bootstrap'])), ...overlay('  - name: engex/halow # the base names it short\n    newTag: old\n') });
    await bump(bare);
    const text = (await runCommand('git', ['show', 'main:overlays/staging/kustomization.yaml'], { cwd: bare, env: ENV })).stdout;
    expect(text).toBe(kustomization(`resources:\n  - ../../base\nimages:\n  - name: engex/halow # the base names it short\n    newTag: ${SHA}\n    newName: ${IMAGE}\n`));
  });

  it('finding 4: a kustomization symlinked outside the clone is refused, and the outside file is neither changed nor printed', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside, { recursive: true });
    const secret = `session_token: FQoGZXIvYXdzEJr//////////wEaDM\n${kustomization(`images:\n  - name: ${IMAGE}\n    newTag: old\n`)}`;
    await writeFile(join(outside, 'credentials'), secret);
    const root = await mkdtemp(join(dir, 'ops-'));
    const bare = join(root, 'ops.git');
    const seed = join(root, 'seed');
    await runCommand('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], { env: ENV });
    await runCommand('git', ['init', '--quiet', '--initial-branch=main', seed], { env: ENV });
    await mkdir(join(seed, 'overlays/staging'), { recursive: true });
    await symlink(join(outside, 'credentials'), join(seed, 'overlays/staging/kustomization.yaml'));
    await runCommand('git', ['add', '.'], { cwd: seed, env: ENV });
    await runCommand('git', ['commit', '--quiet', '-m', 'seed'], { cwd: seed, env: ENV });
    await runCommand('git', ['push', '--quiet', bare, 'main'], { cwd: seed, env: ENV });
    const error = await bump(bare).catch((e: unknown) => e);
    expect(await readFile(join(outside, 'credentials'), 'utf8')).toBe(secret);
    expect(await commits(bare)).toBe(1);
    expect(exitCodeFor(error)).toBe(2);
    expect((error as Error).message).not.toContain('FQoGZXIvYXdz');
    expect(error).toBeInstanceOf(OutsideCloneError);
  });
});
