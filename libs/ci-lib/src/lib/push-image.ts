import type { Docker, LocalImage } from './docker.js';
import { CommandFailedError, ImmutableTagError, InfrastructureError, UnprovenImageError, UsageError } from './errors.js';
import type { ImageRefs } from './image-ref.js';
import { HSPT, OCI } from './labels.js';
import type { RegistryClient, RemoteImage } from './registry-client.js';

/**
 * What to do with one tag of an IMMUTABLE repository.
 * - `push`: the tag is absent.
 * - `unchanged`: the registry holds exactly this image (same config digest = same `docker
 *   inspect .Id`, which is stable across manifest formats and compression, unlike the manifest
 *   digest). Nothing to do: adopting it is the same as pushing ours.
 * - `kept-earlier-build`: the registry holds a different image whose revision label is this
 *   commit, AND a trusted build of this pipeline is proven to have pushed that very digest: this
 *   build's meta-data (a retry) or Buildkite's record of an earlier trusted build of the commit (a
 *   rebuild). That is what a retried or rebuilt job produces: the rebuild differs only in build
 *   metadata (`created`, layer mtimes, the build URL). The tag cannot be overwritten (IMMUTABLE)
 *   and must not be (scans and deploys may already reference that digest), so the earlier image
 *   stays authoritative: we push nothing, re-point the local tag at it, and say so loudly.
 * - `unproven`: the same label but no such proof. Labels are written by whoever pushes, so they
 *   prove nothing: a pull request that pushed `<sha of a commit main will build>` with that label
 *   would otherwise be scanned, smoked and deployed by main (issue 18, attack 2). Fail (exit 3).
 * - `conflict`: a different image built from different (or unknown) source: someone pushed
 *   something else under our sha. Fail (exit 3) naming both digests, push nothing.
 */
export type PushDecision = 'push' | 'unchanged' | 'kept-earlier-build' | 'unproven' | 'conflict';

/** Evidence that a trusted build of this pipeline pushed `digest`, and which. */
export interface PushProof {
  /** The manifest digest the trusted build recorded. */
  digest: string;
  /** Who vouches, for the log line: e.g. `this build's meta-data engex:halow:digest`. */
  by: string;
}

/** Pure: the decision for one tag, given the local image, what the registry holds, and any proof for its digest. */
export function decidePush(local: { configDigest: string; revision: string }, remote: RemoteImage | undefined, proof?: PushProof): PushDecision {
  if (!remote) return 'push';
  if (remote.configDigest === local.configDigest) return 'unchanged';
  if (remote.labels[OCI.revision] !== local.revision) return 'conflict';
  return proof !== undefined && proof.digest === remote.manifestDigest ? 'kept-earlier-build' : 'unproven';
}

export interface PushResult {
  tag: string;
  /** `<host>/<repo>:<tag>`. */
  reference: string;
  status: Exclude<PushDecision, 'conflict' | 'unproven'>;
  manifestDigest: string;
  /** Image id in the registry after this run. */
  configDigest: string;
  /** Compressed bytes in the registry (config + layers). */
  size: number;
  /** The rebuilt local image id that was not pushed (`kept-earlier-build` only). */
  discardedLocalId?: string;
  /** Who proved the kept image was pushed by a trusted build (`kept-earlier-build` only). */
  provenBy?: string;
}

export interface PushImageOptions {
  refs: ImageRefs;
  /** The full sha this job builds. */
  revision: string;
  docker: Docker;
  registry: RegistryClient;
  /**
   * Looks for proof that a trusted build of this pipeline pushed `remote` (asked only when the
   * registry holds another image labelled with this commit). Absent: nothing is ever proven.
   */
  prove?: (remote: RemoteImage) => Promise<PushProof | undefined>;
  log?: (line: string) => void;
}

/**
 * Idempotent push of every planned tag to an IMMUTABLE repository. All tags are checked before
 * anything is pushed, so a conflict on any of them pushes nothing. After each push the registry
 * is asked again: success means it now serves our image id under the tag.
 */
export async function pushImage(options: PushImageOptions): Promise<PushResult[]> {
  const { refs, revision, docker, registry } = options;
  const log = options.log ?? (() => {});
  let local = await docker.inspectImage(refs.dest);
  if (!local) throw new UsageError(`no local image ${refs.dest}; run \`engex-ci image build\` for this commit first (on the same agent)`);
  const platform = { os: local.os, architecture: local.architecture };
  const inspect = (tag: string) => registry.inspectImage(refs.repository, tag, platform);
  const localKey = (image: LocalImage) => ({ configDigest: image.id, revision });
  const proofs = new Map<string, PushProof | undefined>();
  /** decidePush, asking for proof only when it decides; one question per digest. */
  const decide = async (image: LocalImage, remote: RemoteImage | undefined): Promise<{ decision: PushDecision; proof?: PushProof }> => {
    const unproven = decidePush(localKey(image), remote);
    if (unproven !== 'unproven') return { decision: unproven };
    const digest = (remote as RemoteImage).manifestDigest;
    if (!proofs.has(digest)) proofs.set(digest, await options.prove?.(remote as RemoteImage));
    const proof = proofs.get(digest);
    return { decision: decidePush(localKey(image), remote, proof), proof };
  };
  const refuse = (tag: string, remote: RemoteImage, decision: PushDecision, image: LocalImage): Error =>
    decision === 'unproven' ? unproven(refs, tag, remote, image, revision) : conflict(refs, tag, remote, image, revision);

  const [primary, ...extras] = refs.tags as [string, ...string[]];
  const primaryRemote = await inspect(primary);
  const { decision: primaryDecision, proof: primaryProof } = await decide(local, primaryRemote);
  if (primaryDecision === 'conflict' || primaryDecision === 'unproven') throw refuse(primary, primaryRemote!, primaryDecision, local);
  let discardedLocalId: string | undefined;
  if (primaryDecision === 'kept-earlier-build') {
    discardedLocalId = local.id;
    log(
      `${refs.dest}: the registry already has ${primaryRemote!.manifestDigest} built from ${revision}, pushed by a trusted build (${primaryProof?.by}); keeping it and pulling it over the local rebuild ${local.id}`,
    );
    await docker.pull(refs.dest);
    local = (await docker.inspectImage(refs.dest)) ?? local;
  }

  const extraPlans: { tag: string; remote: RemoteImage | undefined; decision: PushDecision }[] = [];
  for (const tag of extras) {
    const remote = await inspect(tag);
    const { decision } = await decide(local, remote);
    if (decision === 'conflict' || decision === 'unproven') throw refuse(tag, remote!, decision, local);
    extraPlans.push({ tag, remote, decision });
  }

  const results: PushResult[] = [];
  const finish = async (tag: string, decision: PushDecision, remote: RemoteImage | undefined): Promise<void> => {
    const reference = `${refs.name}:${tag}`;
    if (decision === 'push') {
      remote = await pushOne(reference, tag);
      decision = remote.configDigest === local!.id ? 'push' : 'kept-earlier-build';
    }
    results.push({
      tag,
      reference,
      status: decision as PushResult['status'],
      manifestDigest: remote!.manifestDigest,
      configDigest: remote!.configDigest,
      size: remote!.size,
      discardedLocalId: tag === primary ? discardedLocalId : undefined,
      provenBy: tag === primary ? primaryProof?.by : undefined,
    });
  };

  async function pushOne(reference: string, tag: string): Promise<RemoteImage> {
    if (reference !== refs.dest) await docker.tag(local!.id, reference);
    try {
      await docker.push(reference);
    } catch (error) {
      // Another job may have pushed between our check and our push (ECR then refuses ours
      // with "tag ... already exists"); what the registry holds now decides.
      if (!(error instanceof CommandFailedError)) throw error;
      const now = await inspect(tag);
      const { decision } = await decide(local!, now);
      if (decision === 'conflict' || decision === 'unproven') throw refuse(tag, now!, decision, local!);
      if (decision === 'push') throw error;
      log(`${reference}: push failed but the registry now has ${now!.manifestDigest} for ${revision} (pushed concurrently); accepting it`);
      return now!;
    }
    const after = await inspect(tag);
    if (!after) throw new InfrastructureError(`${reference}: docker push succeeded but the registry does not list the tag; check the registry`);
    const { decision } = await decide(local!, after);
    if (decision === 'conflict' || decision === 'unproven') throw refuse(tag, after, decision, local!);
    return after;
  }

  await finish(primary, primaryDecision, primaryRemote);
  for (const plan of extraPlans) await finish(plan.tag, plan.decision, plan.remote);
  return results;
}

function conflict(refs: ImageRefs, tag: string, remote: RemoteImage, local: LocalImage, revision: string): ImmutableTagError {
  return new ImmutableTagError(
    `${refs.name}:${tag}`,
    { manifestDigest: remote.manifestDigest, configDigest: remote.configDigest, revision: remote.labels[OCI.revision] },
    { configDigest: local.id, revision },
  );
}

/** The build an image's labels claim: its build URL label, else its pipeline and build number labels. */
export function claimedBuild(labels: Readonly<Record<string, string>>): string {
  const url = labels[HSPT.buildUrl];
  if (url) return url;
  const number = labels['io.hspt.buildkite.build-number'];
  const pipeline = labels['io.hspt.buildkite.pipeline'];
  return number ? `build ${number}${pipeline ? ` of ${pipeline}` : ''}` : 'no build label';
}

function unproven(refs: ImageRefs, tag: string, remote: RemoteImage, local: LocalImage, revision: string): UnprovenImageError {
  return new UnprovenImageError(
    `${refs.name}:${tag}`,
    { manifestDigest: remote.manifestDigest, configDigest: remote.configDigest, claimedBuild: claimedBuild(remote.labels) },
    { configDigest: local.id, revision },
  );
}

/** One stdout line per tag, saying exactly what happened. */
export function renderPushResult(result: PushResult): string {
  const where = `${result.reference}@${result.manifestDigest}`;
  switch (result.status) {
    case 'push':
      return `pushed ${where} image=${result.configDigest} size=${result.size}`;
    case 'unchanged':
      return `unchanged ${where} image=${result.configDigest} size=${result.size} (already in the registry; nothing pushed)`;
    case 'kept-earlier-build':
      return (
        `kept ${where} image=${result.configDigest} size=${result.size} (an earlier trusted build of this commit pushed it${result.provenBy ? `, proven by ${result.provenBy}` : ''}; ` +
        `this rebuild${result.discardedLocalId ? ` ${result.discardedLocalId}` : ''} was not pushed because the tag is immutable)`
      );
  }
}
