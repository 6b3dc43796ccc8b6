import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderBumpCommitMessage } from './deploy-bump-message.js';
import { deployBump, type DeployBumpOptions } from './deploy-bump.js';
import { gitLowSpeedArgs, gitRemoteHost } from './ops-clone.js';
import { readCommitRelation, RollbackRefusedError, RollbackUncheckedError } from './deploy-guard.js';
import { CommandFailedError, ManifestError, exitCodeFor } from './errors.js';
import { runCommand } from './run-command.js';
import { describeNeeding, kubectlRequirement } from '../testing/requirements.js';

const IMAGE = '460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const PATH = 'overlays/staging/kustomization.yaml';
const KUSTOMIZATION = `# halow staging. engex-ci deploy bump edits newTag below; keep the comments.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

resources:
  - ../../base # shared deployment and service

images:
  # the service image, bumped by CI on every main build
  - name: ${IMAGE}
    newTag: "${'0'.repeat(40)}" # bumped by CI
`;
const BASE_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: halow
spec:
  template:
    spec:
      containers:
        - name: halow
          image: ${IMAGE}:bootstrap
`;
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'seed', GIT_AUTHOR_EMAIL: 'seed@example.com', GIT_COMMITTER_NAME: 'seed', GIT_COMMITTER_EMAIL: 'seed@example.com' };

describe('the commit message', () => {
  it('carries the service, old -> new, the digest, the build and the source commit link', () => {
    expect(
      renderBumpCommitMessage({
        service: 'halow',
        image: IMAGE,
        tag: SHA,
        previousTag: 'f'.repeat(40),
        digest: `sha256:${'d'.repeat(64)}`,
        path: PATH,
        revision: SHA,
        buildUrl: 'https://buildkite.com/highspot/engex/builds/812',
        sourceUrl: 'https://github.com/highspot/halow.git',
      }),
    ).toMatchInlineSnapshot(`
      "Deploy halow 0123456789ab to overlays/staging

      Set the newTag of 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow to 0123456789abcdef0123456789abcdef01234567 in overlays/staging/kustomization.yaml.

      Service: halow
      Change: ffffffffffffffffffffffffffffffffffffffff -> 0123456789abcdef0123456789abcdef01234567
      Digest: sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
      Revision: 0123456789abcdef0123456789abcdef01234567
      Build: https://buildkite.com/highspot/engex/builds/812
      Source: https://github.com/highspot/halow/commit/0123456789abcdef0123456789abcdef01234567
      "
    `);
  });
});

describe('git deadline helpers', () => {
  it.each([
    ['https://x-access-token:tok@github.com/o/ops.git', 'github.com'],
    ['http://127.0.0.1:8080/ops.git', '127.0.0.1:8080'],
    ['ssh://git@github.com/o/ops.git', 'github.com'],
  ])('the host of the URL %s is %s', (repo, host) => expect(gitRemoteHost(repo)).toBe(host));

  it('the host of an scp-like remote is before the colon', () => expect(gitRemoteHost('git@github.com:o/ops.git')).toBe('github.com'));

  it('a local path has no host: it stands for itself', () => expect(gitRemoteHost('/srv/git/ops.git')).toBe('/srv/git/ops.git'));

  it('git gives up on a stalled transfer after 30 s, or the deadline if shorter', () => {
    expect(gitLowSpeedArgs(120_000)).toEqual(['-c', 'http.lowSpeedLimit=1000', '-c', 'http.lowSpeedTime=30']);
    expect(gitLowSpeedArgs(1500)).toEqual(['-c', 'http.lowSpeedLimit=1000', '-c', 'http.lowSpeedTime=2']);
  });
});

describeNeeding([kubectlRequirement()], 'deployBump against a real bare repository', () => {
  let dir: string;
  let bare: string;
  const git = async (cwd: string, ...args: string[]) => (await runCommand('git', args, { cwd, env: ENV })).stdout.trim();
  const commits = () => git(bare, 'rev-list', '--count', 'main').then(Number);
  const show = (path = PATH) => git(bare, 'show', `main:${path}`).then((t) => `${t}\n`);
  const options = (over: Partial<DeployBumpOptions> = {}): DeployBumpOptions => ({
    repo: bare,
    overlay: 'overlays/staging',
    image: IMAGE,
    tag: SHA,
    message: { service: 'halow', revision: SHA, buildUrl: 'https://buildkite.com/highspot/engex/builds/812', sourceUrl: 'https://github.com/highspot/halow' },
    author: { name: 'engex-ci', email: 'engex-ci@example.com' },
    retry: { attempts: 20, baseDelayMs: 20, maxDelayMs: 200 },
    ...over,
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engex-bump-spec-'));
    bare = join(dir, 'halow-ops.git');
    await runCommand('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], { env: ENV });
    const seed = join(dir, 'seed');
    await runCommand('git', ['clone', '--quiet', bare, seed], { env: ENV });
    await mkdir(join(seed, 'overlays/staging'), { recursive: true });
    await mkdir(join(seed, 'overlays/production'), { recursive: true });
    await writeFile(join(seed, PATH), KUSTOMIZATION);
    await writeFile(join(seed, 'overlays/production/deployment.yaml'), 'apiVersion: apps/v1\nkind: Deployment\n');
    // What the overlays render: the bump proves every edit with kubectl kustomize.
    await mkdir(join(seed, 'base'), { recursive: true });
    await writeFile(join(seed, 'base/kustomization.yaml'), 'resources:\n  - deployment.yaml\n');
    await writeFile(join(seed, 'base/deployment.yaml'), BASE_DEPLOYMENT);
    await git(seed, 'checkout', '--quiet', '-b', 'main');
    await git(seed, 'add', '.');
    await git(seed, 'commit', '--quiet', '-m', 'seed');
    await git(seed, 'push', '--quiet', 'origin', 'main');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('bumps newTag in one commit that touches only that line, then is a no-op', async () => {
    const result = await deployBump(options());
    expect(result).toMatchObject({ status: 'bumped', branch: 'main', previousTag: '0'.repeat(40), attempts: 1 });
    expect(await show()).toBe(KUSTOMIZATION.replace('0'.repeat(40), SHA));
    expect(await commits()).toBe(2);
    expect(await git(bare, 'log', '-1', '--format=%an <%ae>%n%B', 'main')).toContain('engex-ci <engex-ci@example.com>\nDeploy halow 0123456789ab to overlays/staging');
    expect(await git(bare, 'log', '-1', '--format=%B', 'main')).toContain(`Source: https://github.com/highspot/halow/commit/${SHA}`);
    expect(result.status === 'bumped' && result.commit).toBe(await git(bare, 'rev-parse', 'main'));

    const again = await deployBump(options());
    expect(again).toMatchObject({ status: 'already', commit: await git(bare, 'rev-parse', 'main') });
    expect(await commits()).toBe(2);
  });

  it.each([
    ['the overlay is missing', { overlay: 'overlays/dev' }, /overlays\/dev does not exist in .* \(branch main\)/],
    ['the overlay has no kustomization', { overlay: 'overlays/production' }, /overlays\/production has no kustomization: expected one of/],
    ['the file is not a kustomization', { overlay: 'overlays/production/deployment.yaml' }, /is not a kustomization: kind is "Deployment"/],
    [
      'no entry deploys the image',
      { image: 'registry.example.com/engex/halw' },
      /cannot deploy registry.example.com\/engex\/halw: no container of the rendered overlay runs it .*\n {2}Deployment\/halow spec.template.spec.containers\[0\] \(halow\): 460210468233.dkr.ecr.us-east-1.amazonaws.com\/engex\/halow:0{40}/s,
    ],
  ])('fails clearly and pushes nothing when %s', async (_name, over, message) => {
    const error = await deployBump(options(over)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as Error).message).toMatch(message);
    expect(exitCodeFor(error)).toBe(2);
    expect(await commits()).toBe(1);
  });

  it('does not retry a push refused by the server for another reason', async () => {
    await writeFile(join(bare, 'hooks/pre-receive'), '#!/bin/sh\necho "main is protected" >&2\nexit 1\n');
    await chmod(join(bare, 'hooks/pre-receive'), 0o755);
    const log: string[] = [];
    const error = await deployBump(options({ log: (l) => log.push(l) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect((error as Error).message).toMatch(/main is protected/);
    expect(exitCodeFor(error)).toBe(4);
    expect(log).toEqual([]);
    expect(await commits()).toBe(1);
  });

  it.each(['kustomization.yaml', 'kustomization.yml', 'Kustomization'])('finds the overlay kustomization named %s', async (name) => {
    const seed = join(dir, 'seed');
    await mkdir(join(seed, 'overlays/eu'), { recursive: true });
    await writeFile(join(seed, 'overlays/eu', name), KUSTOMIZATION);
    await git(seed, 'add', '.');
    await git(seed, 'commit', '--quiet', '-m', `eu overlay as ${name}`);
    await git(seed, 'push', '--quiet', 'origin', 'main');
    const result = await deployBump(options({ overlay: 'overlays/eu' }));
    expect(result).toMatchObject({ status: 'bumped', path: `overlays/eu/${name}` });
    expect(await show(`overlays/eu/${name}`)).toBe(KUSTOMIZATION.replace('0'.repeat(40), SHA));
  });

  it('refuses an overlay with two kustomization files, as kustomize does', async () => {
    const seed = join(dir, 'seed');
    await writeFile(join(seed, 'overlays/staging/Kustomization'), KUSTOMIZATION);
    await git(seed, 'add', '.');
    await git(seed, 'commit', '--quiet', '-m', 'second file');
    await git(seed, 'push', '--quiet', 'origin', 'main');
    await expect(deployBump(options())).rejects.toThrow(/overlays\/staging has 2 kustomization files \(kustomization.yaml, Kustomization\)/);
    expect(await commits()).toBe(2);
  });

  it('writes newTag and digest together when the target pins digests', async () => {
    const digest = `sha256:${'e'.repeat(64)}`;
    await expect(deployBump(options({ pinDigest: true }))).rejects.toThrow(/pinDigest needs the pushed digest/);
    await deployBump(options({ pinDigest: true, digest }));
    expect(parse(await show()).images).toEqual([{ name: IMAGE, newTag: SHA, digest }]);
    expect(await git(bare, 'log', '-1', '--format=%B', 'main')).toContain(`Digest: ${digest}`);
  });

  describe('never backwards, unless asked', () => {
    let source: string;
    let history: string[];

    beforeEach(async () => {
      source = join(dir, 'source');
      await runCommand('git', ['init', '--quiet', '--initial-branch=main', source], { env: ENV });
      for (let i = 0; i < 6; i++) {
        await writeFile(join(source, 'file.txt'), `${i}\n`);
        await git(source, 'add', '.');
        await runCommand('git', ['commit', '--quiet', '-m', `commit ${i}`, '--date', `2026-11-0${i + 1}T12:00:00Z`], {
          cwd: source,
          env: { ...ENV, GIT_COMMITTER_DATE: `2026-11-0${i + 1}T12:00:00Z` },
        });
      }
      history = (await git(source, 'rev-list', '--reverse', 'main')).split('\n');
    });

    const relation = (next: string) => (current: string | undefined) => readCommitRelation(current, next, { cwd: source, env: ENV });
    const bump = (tag: string, over: Partial<DeployBumpOptions> = {}) =>
      deployBump(options({ tag, message: { service: 'halow', revision: tag, sourceUrl: 'https://github.com/highspot/halow' }, relation: relation(tag), ...over }));
    /** The seeded tag is 40 zeros, a sha no repository has: only an explicit override deploys over it. */
    const deployOver = (tag: string) => bump(tag, { allowRollback: true });

    it('refuses HEAD~5 after HEAD with exit 1, naming both commits and dates, and pushes nothing', async () => {
      const head = history[5]!;
      const old = history[0]!;
      await deployOver(head);
      const error = await bump(old).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RollbackRefusedError);
      expect(exitCodeFor(error)).toBe(1);
      expect((error as Error).message).toContain(`it runs ${head} (committed 2026-11-06T12:00:00Z), and ${old} (committed 2026-11-01T12:00:00Z) is an older commit`);
      expect((error as Error).message).toContain('--allow-rollback');
      expect(parse(await show()).images[0].newTag).toBe(head);
      expect(await commits()).toBe(2);
    });

    it('rolls back on purpose with allowRollback, and says so', async () => {
      await deployOver(history[5]!);
      const log: string[] = [];
      const result = await bump(history[0]!, { allowRollback: true, log: (l) => log.push(l) });
      expect(result).toMatchObject({ status: 'bumped', previousTag: history[5] });
      expect(log.join('\n')).toMatch(/rolling overlays\/staging\/kustomization.yaml back from \w{40} \(2026-11-06T12:00:00Z\) to \w{40} \(2026-11-01T12:00:00Z\) on purpose/);
    });

    it('fails closed (exit 4) over a commit it cannot find; --allow-rollback deploys with a note; forward is silent', async () => {
      const log: string[] = [];
      const error = await bump(history[1]!, { log: (l) => log.push(l) }).catch((e: unknown) => e);
      expect(await commits()).toBe(1);
      expect(error).toBeInstanceOf(Error);
      expect(exitCodeFor(error)).toBe(4);
      expect(error).toBeInstanceOf(RollbackUncheckedError);
      expect((error as Error).message).toMatch(/it runs 0{40}, and that commit is not in this checkout, and fetching it from origin failed/);
      await bump(history[1]!, { allowRollback: true, log: (l) => log.push(l) });
      expect(log.join('\n')).toMatch(/runs 0{40}: .*; deploying \w{40} without the ancestry check \(--allow-rollback\)/);
      log.length = 0;
      await bump(history[4]!, { log: (l) => log.push(l) });
      expect(log).toEqual([]);
      expect(parse(await show()).images[0].newTag).toBe(history[4]);
    });

    it('fails closed in a depth-1 checkout whose origin is unreachable: HEAD~1 over HEAD is not deployed (finding 3)', async () => {
      await deployOver(history[5]!);
      const shallow = join(dir, 'shallow');
      await runCommand('git', ['clone', '--quiet', '--depth', '1', `file://${source}`, shallow], { env: ENV });
      await git(shallow, 'remote', 'set-url', 'origin', join(dir, 'gone.git'));
      const previous = history[4]!;
      const error = await bump(previous, { relation: (current) => readCommitRelation(current, previous, { cwd: shallow, env: ENV }) }).catch((e: unknown) => e);
      // What the cluster would run first: still HEAD, nothing pushed.
      expect(parse(await show()).images[0].newTag).toBe(history[5]);
      expect(await commits()).toBe(2);
      expect(exitCodeFor(error)).toBe(4);
      expect(error).toBeInstanceOf(RollbackUncheckedError);
    });
  });

  it('lands 8 concurrent bumps with distinct tags: none lost, comments intact', async () => {
    const tags = Array.from({ length: 8 }, (_, i) => `${String(i + 1).repeat(7)}${'a'.repeat(33)}`);
    const retries: string[] = [];
    const results = await Promise.all(
      tags.map((tag) => deployBump(options({ tag, message: { service: 'halow', revision: tag, sourceUrl: 'https://github.com/highspot/halow' }, log: (l) => retries.push(l) }))),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill('bumped'));
    expect(await commits()).toBe(9);
    const messages = await git(bare, 'log', '--format=%s', 'main');
    for (const tag of tags) expect(messages.split('\n').filter((s) => s.includes(tag.slice(0, 12)))).toHaveLength(1);
    const text = await show();
    const final = parse(text);
    const head = (await git(bare, 'log', '-1', '--format=%B', 'main')).match(/Change: \w+ -> (\w+)/)![1];
    expect(final.images).toEqual([{ name: IMAGE, newTag: head }]);
    expect(text).toBe(KUSTOMIZATION.replace('0'.repeat(40), head!));
    // Some of them must have lost a race and re-applied; otherwise this test proved nothing.
    expect(retries.length).toBeGreaterThan(0);
  }, 120_000);
});
