import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScratchImage, removeRegistryImages } from '../testing/scratch-image.js';
import { describeNeeding, dockerRequirement, registryRequirement } from '../testing/requirements.js';
import { startLocalRegistry, type LocalRegistry } from './local-registry.js';
import { createDocker } from './docker.js';
import { ImmutableTagError, UnprovenImageError, exitCodeFor } from './errors.js';
import { planImageRefs, type ImageRefs } from './image-ref.js';
import { OCI } from './labels.js';
import { decidePush, pushImage, renderPushResult } from './push-image.js';
import { createRegistryClient, type RemoteImage } from './registry-client.js';

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const OTHER = 'ffffffffffffffffffffffffffffffffffffffff';

describe('decidePush', () => {
  const remote = (configDigest: string, revision?: string): RemoteImage => ({
    manifestDigest: 'sha256:m',
    configDigest,
    labels: revision ? { [OCI.revision]: revision } : {},
    size: 1,
  });
  const local = { configDigest: 'sha256:local', revision: SHA };

  it.each([
    ['absent', undefined, 'push'],
    ['same image id', remote('sha256:local', SHA), 'unchanged'],
    ['same image id, no label', remote('sha256:local'), 'unchanged'],
    ['rebuild of the same commit, no proof (labels prove nothing)', remote('sha256:other', SHA), 'unproven'],
    ['another commit', remote('sha256:other', OTHER), 'conflict'],
    ['unknown source', remote('sha256:other'), 'conflict'],
  ] as const)('%s → %s', (_name, state, expected) => {
    expect(decidePush(local, state)).toBe(expected);
  });

  it('keeps an earlier build only with proof for that very digest', () => {
    const rebuilt = remote('sha256:other', SHA);
    expect(decidePush(local, rebuilt, { digest: 'sha256:m', by: "this build's meta-data" })).toBe('kept-earlier-build');
    expect(decidePush(local, rebuilt, { digest: 'sha256:elsewhere', by: 'build 3' })).toBe('unproven');
    // Proof never turns another commit's image into ours.
    expect(decidePush(local, remote('sha256:other', OTHER), { digest: 'sha256:m', by: 'build 3' })).toBe('conflict');
  });
});

describeNeeding([dockerRequirement(), registryRequirement()], 'pushImage against a real engine and registry', () => {
  const engine = createDocker();
  let registry: LocalRegistry;
  let refs: ImageRefs;
  const log: string[] = [];

  const client = () => createRegistryClient({ registry: { host: registry.host, protocol: 'http' } });
  const build = async (content: string, revision: string) => {
    await buildScratchImage(engine, [refs.dest], { files: { '/app.txt': content }, labels: { [OCI.revision]: revision } });
  };
  /** This build's record of what it pushed (meta-data), as the CLI's prover reads it. */
  const recorded = new Set<string>();
  const prove = async (remote: RemoteImage) => (recorded.has(remote.manifestDigest) ? { digest: remote.manifestDigest, by: "this build's meta-data" } : undefined);
  const push = async () => {
    const results = await pushImage({ refs, revision: SHA, docker: engine, registry: client(), prove, log: (l) => log.push(l) });
    for (const r of results) if (r.status === 'push') recorded.add(r.manifestDigest);
    return results;
  };

  beforeAll(async () => {
    registry = await startLocalRegistry();
    refs = planImageRefs({ kind: 'plain', host: registry.host, protocol: 'http' }, `engex/push-${randomBytes(4).toString('hex')}`, { primary: SHA, extra: ['1.4.0'] });
  }, 60_000);

  afterAll(async () => {
    if (registry) await removeRegistryImages(registry.host);
    await registry?.stop();
  });

  it('pushes an absent tag, then is a no-op for the same image', async () => {
    await build('one', SHA);
    const local = (await engine.inspectImage(refs.dest))!;
    const first = await push();
    expect(first.map((r) => [r.tag, r.status, r.configDigest])).toEqual([
      [SHA, 'push', local.id],
      ['1.4.0', 'push', local.id],
    ]);
    const head = await client().headManifest(refs.repository, SHA);
    expect(head).toMatchObject({ exists: true, digest: first[0]!.manifestDigest });
    expect(renderPushResult(first[0]!)).toBe(`pushed ${refs.dest}@${first[0]!.manifestDigest} image=${local.id} size=${first[0]!.size}`);

    const second = await push();
    expect(second.map((r) => [r.tag, r.status, r.manifestDigest])).toEqual([
      [SHA, 'unchanged', first[0]!.manifestDigest],
      ['1.4.0', 'unchanged', first[1]!.manifestDigest],
    ]);
    expect(renderPushResult(second[0]!)).toMatch(/^unchanged .* \(already in the registry; nothing pushed\)$/);
  });

  it('refuses a different image under the same tag, naming both digests, and pushes nothing', async () => {
    // Someone pushed an image of other source under the sha this job builds.
    const sha2 = 'b'.repeat(40);
    const refs2 = planImageRefs(refs.registry, refs.repository, { primary: sha2, extra: [] });
    await buildScratchImage(engine, [refs2.dest], { files: { '/app.txt': 'foreign' }, labels: { [OCI.revision]: OTHER } });
    await engine.push(refs2.dest);
    const before = await client().headManifest(refs.repository, sha2);
    const foreign = await client().inspectImage(refs.repository, sha2);

    await buildScratchImage(engine, [refs2.dest], { files: { '/app.txt': 'ours' }, labels: { [OCI.revision]: sha2 } });
    const local = (await engine.inspectImage(refs2.dest))!;
    const error = await pushImage({ refs: refs2, revision: sha2, docker: engine, registry: client() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImmutableTagError);
    expect(exitCodeFor(error)).toBe(3);
    const message = (error as Error).message;
    expect(message).toContain(`${refs2.dest} already exists with a different image`);
    expect(message).toContain(`registry: manifest ${foreign!.manifestDigest}, image id ${foreign!.configDigest}, revision label ${OTHER}`);
    expect(message).toContain(`local:    image id ${local.id}, revision ${sha2}`);
    expect(message).toContain('Nothing was pushed');
    expect(await client().headManifest(refs.repository, sha2)).toEqual(before);
    expect(await client().inspectImage(refs.repository, sha2)).toEqual(foreign);
  });

  it('keeps the earlier image when a retry rebuilt the same commit differently', async () => {
    const before = await client().inspectImage(refs.repository, SHA);
    await build('rebuilt with another timestamp', SHA);
    const rebuilt = (await engine.inspectImage(refs.dest))!;
    expect(rebuilt.id).not.toBe(before!.configDigest);
    const results = await push();
    expect(results.map((r) => [r.status, r.manifestDigest])).toEqual([
      ['kept-earlier-build', before!.manifestDigest],
      ['unchanged', expect.any(String)],
    ]);
    expect(results[0]!.discardedLocalId).toBe(rebuilt.id);
    expect(renderPushResult(results[0]!)).toContain("an earlier trusted build of this commit pushed it, proven by this build's meta-data");
    // The local tag now names the registry's image, so a smoke test on this agent tests what was pushed.
    expect((await engine.inspectImage(refs.dest))!.id).toBe(before!.configDigest);
    expect(log.some((l) => l.includes('keeping it and pulling it'))).toBe(true);
    expect(await client().inspectImage(refs.repository, SHA)).toEqual(before);
  });

  it('attack 2: an image another build pushed under our tag with our revision label is never adopted', async () => {
    // A pull request (or anyone with push) pushed <sha main will build>, labelled as that commit.
    const sha3 = 'c'.repeat(40);
    const refs3 = planImageRefs(refs.registry, refs.repository, { primary: sha3, extra: [] });
    await buildScratchImage(engine, [refs3.dest], {
      files: { '/app.txt': 'attacker' },
      labels: { [OCI.revision]: sha3, 'io.hspt.build.url': 'https://buildkite.com/highspot/engex/builds/666' },
    });
    await engine.push(refs3.dest);
    const planted = await client().inspectImage(refs.repository, sha3);
    // Main's build of that commit: its own image, and a prover that finds no trusted build of that digest.
    await buildScratchImage(engine, [refs3.dest], { files: { '/app.txt': 'honest' }, labels: { [OCI.revision]: sha3 } });
    const honest = (await engine.inspectImage(refs3.dest))!;
    const asked: string[] = [];
    const error = await pushImage({
      refs: refs3,
      revision: sha3,
      docker: engine,
      registry: client(),
      prove: async (r) => (asked.push(r.manifestDigest), undefined),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnprovenImageError);
    expect(exitCodeFor(error)).toBe(3);
    const message = (error as Error).message;
    expect(message).toContain(`registry: manifest ${planted!.manifestDigest}, image id ${planted!.configDigest}, claimed build https://buildkite.com/highspot/engex/builds/666`);
    expect(message).toContain('labels prove nothing');
    expect(asked).toEqual([planted!.manifestDigest]);
    // Nothing adopted: the local tag is still main's own image (a smoke test would not run the attacker's).
    expect((await engine.inspectImage(refs3.dest))!.id).toBe(honest.id);
    expect(await client().inspectImage(refs.repository, sha3)).toEqual(planted);
  });

  it('says to build first when the local image is missing', async () => {
    const missing = { ...refs, dest: `${refs.name}:${OTHER}` };
    await expect(pushImage({ refs: missing, revision: SHA, docker: engine, registry: client() })).rejects.toThrow(/no local image .* run `engex-ci image build`/);
  });
});
