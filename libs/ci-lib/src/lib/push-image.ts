import type { Docker, LocalImage } from './docker.js';
import { CommandFailedError, ImmutableTagError, InfrastructureError, UsageError } from './errors.js';
import type { ImageRefs } from './image-ref.js';
import { OCI } from './labels.js';
import type { RegistryClient, RemoteImage } from './registry-client.js';

/**
 * What to do with one tag of an IMMUTABLE repository.
 * - `push`: the tag is absent.
 * - `unchanged`: the registry holds exactly this image (same config digest = same `docker
 *   inspect .Id`, which is stable across manifest formats and compression, unlike the manifest
 *   digest). Nothing to do.
 * - `kept-earlier-build`: the registry holds a different image whose revision label is this very
 *   commit. That is what a retried or rebuilt Buildkite job produces: the rebuild differs only in
 *   build metadata (`created`, layer mtimes, the build URL of a new build), because the legacy
 *   builder stamps times into the config. The tag cannot be overwritten (IMMUTABLE) and must not
 *   be (scans and deploys may already reference that digest), and failing would make every retry
 *   of a flaky later step fail forever. So the earlier image stays authoritative: we push
 *   nothing, re-point the local tag at the registry's image, and say so loudly. Pin
 *   SOURCE_DATE_EPOCH and keep the build cache to make such rebuilds `unchanged` instead.
 * - `conflict`: a different image built from different (or unknown) source: someone pushed
 *   something else under our sha. Fail (exit 3) naming both digests, push nothing.
 */
export type PushDecision = 'push' | 'unchanged' | 'kept-earlier-build' | 'conflict';

/** Pure: the decision for one tag, given the local image and what the registry holds. */
export function decidePush(local: { configDigest: string; revision: string }, remote: RemoteImage | undefined): PushDecision {
  if (!remote) return 'push';
  if (remote.configDigest === local.configDigest) return 'unchanged';
  if (remote.labels[OCI.revision] === local.revision) return 'kept-earlier-build';
  return 'conflict';
}

export interface PushResult {
  tag: string;
  /** `<host>/<repo>:<tag>`. */
  reference: string;
  status: Exclude<PushDecision, 'conflict'>;
  manifestDigest: string;
  /** Image id in the registry after this run. */
  configDigest: string;
  /** Compressed bytes in the registry (config + layers). */
  size: number;
  /** The rebuilt local image id that was not pushed (`kept-earlier-build` only). */
  discardedLocalId?: string;
}

export interface PushImageOptions {
  refs: ImageRefs;
  /** The full sha this job builds. */
  revision: string;
  docker: Docker;
  registry: RegistryClient;
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

  const [primary, ...extras] = refs.tags as [string, ...string[]];
  const primaryRemote = await inspect(primary);
  const primaryDecision = decidePush(localKey(local), primaryRemote);
  if (primaryDecision === 'conflict') throw conflict(refs, primary, primaryRemote!, local, revision);
  let discardedLocalId: string | undefined;
  if (primaryDecision === 'kept-earlier-build') {
    discardedLocalId = local.id;
    log(`${refs.dest}: the registry already has ${primaryRemote!.manifestDigest} built from ${revision}; keeping it and pulling it over the local rebuild ${local.id}`);
    await docker.pull(refs.dest);
    local = (await docker.inspectImage(refs.dest)) ?? local;
  }

  const extraPlans: { tag: string; remote: RemoteImage | undefined; decision: PushDecision }[] = [];
  for (const tag of extras) {
    const remote = await inspect(tag);
    const decision = decidePush(localKey(local), remote);
    if (decision === 'conflict') throw conflict(refs, tag, remote!, local, revision);
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
      ...(tag === primary && discardedLocalId ? { discardedLocalId } : {}),
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
      const decision = decidePush(localKey(local!), now);
      if (decision === 'conflict') throw conflict(refs, tag, now!, local!, revision);
      if (decision === 'push') throw error;
      log(`${reference}: push failed but the registry now has ${now!.manifestDigest} for ${revision} (pushed concurrently); accepting it`);
      return now!;
    }
    const after = await inspect(tag);
    if (!after) throw new InfrastructureError(`${reference}: docker push succeeded but the registry does not list the tag; check the registry`);
    const decision = decidePush(localKey(local!), after);
    if (decision === 'conflict') throw conflict(refs, tag, after, local!, revision);
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
        `kept ${where} image=${result.configDigest} size=${result.size} (an earlier build of this commit pushed it; ` +
        `this rebuild${result.discardedLocalId ? ` ${result.discardedLocalId}` : ''} was not pushed because the tag is immutable)`
      );
  }
}
