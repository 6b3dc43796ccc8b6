import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { deadlineHint } from './deadlines.js';
import { CommandFailedError, DeadlineExceededError, ManifestError } from './errors.js';
import { no, ok, unreachable, type Fact } from './fact.js';
import { pickKustomizationFile } from './kustomization-file.js';
import { isServiceImage, readContainerImages, splitImage } from './kustomize-images.js';
import { findKustomizeRenderer, renderKustomization, type KustomizeRenderer } from './kustomize-render.js';
import { gitLowSpeedArgs, gitRemoteHost, insideClone } from './ops-clone.js';
import { redact } from './redact.js';
import { normalizeRetryOptions, withRetry, type RetryOptions } from './retry.js';
import { runCommand } from './run-command.js';

// What an overlay deploys now, read from a shallow clone of its ops repo and kustomize's render:
// `engex-ci status` and the pipeline generator's deployed-base lookup read it the same way.

export interface DeployedTagQuery {
  opsRepo: string;
  overlay: string;
  /** `images[].name` to look up (the service's deployImageName). */
  image: string;
}

/** What an overlay runs: the tag, the kustomization file it was read from, and the digest when pinned. */
export interface Deployed {
  tag: string;
  file: string;
  digest?: string;
}

export interface ReadDeployedOptions {
  /** Overall deadline of one git operation against the ops repo (clone), in ms. */
  gitDeadlineMs: number;
  /** Git over the network: the ops clone's retries on transient failures. */
  retry?: Partial<RetryOptions>;
  env?: NodeJS.ProcessEnv;
  tmpRoot?: string;
  /** How overlays are rendered (what runs is what kustomize renders). Default: found once, kubectl kustomize else kustomize build. */
  renderer?: KustomizeRenderer;
}

/** Reads overlays under `tmp`, cloning each ops repo once (the first query of a repo clones it). */
export function createOverlayReader(options: ReadDeployedOptions, env: NodeJS.ProcessEnv, tmp: string): (query: DeployedTagQuery) => Promise<Fact<Deployed>> {
  const clones = new Map<string, Promise<Fact<string>>>();
  const render = overlayRenderer(options, env);
  return async (q) => {
    let clone = clones.get(q.opsRepo);
    if (!clone) {
      clone = cloneOps(q.opsRepo, join(tmp, String(clones.size)), options, env);
      clones.set(q.opsRepo, clone);
    }
    const dir = await clone;
    return dir.ok ? readOverlay(dir.value, q.overlay, q.image, render) : no(`ops repo ${redact(q.opsRepo)} ${dir.reason}`);
  };
}

/**
 * The tag each overlay runs now, read the way `engex-ci status` reads it (one shallow clone per
 * ops repo under the git deadline, kustomize's three file names, the overlay's render), in query order.
 * Never throws for an unreachable repo or a missing entry: each answer is a Fact with its reason.
 */
export async function readDeployedTags(queries: readonly DeployedTagQuery[], options: ReadDeployedOptions): Promise<Fact<Deployed>[]> {
  const env = { ...(options.env ?? process.env), GIT_TERMINAL_PROMPT: '0' };
  const tmp = await mkdtemp(join(options.tmpRoot ?? tmpdir(), 'engex-deployed-'));
  try {
    const read = createOverlayReader(options, env, tmp);
    const out: Fact<Deployed>[] = [];
    for (const q of queries) out.push(await read(q));
    return out;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

const TRANSIENT_GIT = /Connection reset|Connection timed out|early EOF|The requested URL returned error: 5\d\d|RPC failed|Could not resolve host|unexpected disconnect/i;

async function cloneOps(repo: string, dir: string, options: Pick<ReadDeployedOptions, 'gitDeadlineMs' | 'retry'>, env: NodeJS.ProcessEnv): Promise<Fact<string>> {
  const started = Date.now();
  const host = gitRemoteHost(repo);
  const retry = normalizeRetryOptions({ attempts: 2, ...options.retry });
  try {
    await withRetry(
      async () => {
        await rm(dir, { recursive: true, force: true });
        const remaining = Math.max(1, options.gitDeadlineMs - (Date.now() - started));
        await runCommand('git', [...gitLowSpeedArgs(remaining), 'clone', '--quiet', '--depth', '1', '--no-tags', '--single-branch', '--', repo, dir], {
          env,
          deadline: {
            ms: remaining,
            error: () => new DeadlineExceededError('git clone of the ops repo', host, Date.now() - started, options.gitDeadlineMs, deadlineHint('gitMs')),
          },
        });
      },
      { ...retry, totalMs: Math.min(retry.totalMs, options.gitDeadlineMs), isRetryable: (e) => e instanceof CommandFailedError && TRANSIENT_GIT.test(e.output) },
    );
    return ok(dir);
  } catch (error) {
    return unreachable(error);
  }
}

type OverlayRenderer = (dir: string, overlay: string) => Promise<Fact<string>>;

/** Renders overlays with one renderer, found once; without kubectl or kustomize every overlay says why. */
function overlayRenderer(options: Pick<ReadDeployedOptions, 'renderer' | 'gitDeadlineMs'>, env: NodeJS.ProcessEnv): OverlayRenderer {
  let found: Promise<Fact<KustomizeRenderer>> | undefined;
  return async (dir, overlay) => {
    found ??= options.renderer ? Promise.resolve(ok(options.renderer)) : findKustomizeRenderer(env).then(ok, (e: unknown) => no<KustomizeRenderer>((e as Error).message));
    const renderer = await found;
    if (!renderer.ok) return renderer;
    try {
      return ok(await renderKustomization(renderer.value, join(dir, overlay), { env, deadlineMs: options.gitDeadlineMs, label: overlay }));
    } catch (error) {
      if (error instanceof ManifestError) return no(error.message);
      throw error;
    }
  };
}

/**
 * What the overlay deploys, from its render (not from the `images[]` entry, which kustomize may
 * not apply): the reference every container of the service renders, when they agree on one.
 */
async function readOverlay(dir: string, overlay: string, image: string, render: OverlayRenderer): Promise<Fact<Deployed>> {
  try {
    const listing = existsSync(join(dir, overlay)) ? await readdir(join(dir, overlay)) : [];
    const file = posix.join(overlay, pickKustomizationFile(overlay, listing));
    await insideClone(dir, file);
    const rendered = await render(dir, overlay);
    if (!rendered.ok) return rendered;
    const refs = [
      ...new Set(
        readContainerImages(rendered.value)
          .filter((c) => isServiceImage(c.image, [image]))
          .map((c) => c.image),
      ),
    ];
    if (refs.length === 0) return no(`${file} renders no container of ${image}`);
    if (refs.length > 1) return no(`${file} renders the service's containers with different images: ${refs.join(', ')}`);
    const { name, tag, digest } = splitImage(refs[0]!);
    if (name !== image) return no(`${file} renders ${refs[0]}, not the service's image ${image}`);
    if (!tag) return no(`${file} renders ${refs[0]} without a tag`);
    return ok({ tag, file, digest: digest || undefined });
  } catch (error) {
    if (error instanceof ManifestError) return no(error.message);
    throw error;
  }
}
