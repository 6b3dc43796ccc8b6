import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { QueueAgents } from './local-env.js';

/**
 * The one seam between the runner and the machines its jobs run on. The runner asks for an
 * agent per job and releases it afterwards; how an agent gets its checkout and caches is decided
 * here, once, when the pool is made. Locally every agent is ephemeral: a fresh clone of the
 * commit, as after the agent's checkout and `git clean`, and nothing of it is left for the next
 * job but what it uploaded and saved (the checkout-in-place mode is gone: a job must see what it
 * would see on a fleet).
 */

const run = promisify(execFile);

/** How the agents share caches (`run --local` flags); normalized by `openFreshCloneAgents`. */
export interface AgentFlags {
  /** The cache plugin's folder (`--deps-cache`); absent: a folder of this run, removed at its end. */
  depsCache?: string;
  /** The Nx cache every agent shares (`--nx-cache <dir>`), `off` (each agent's own), absent: a folder of this run. */
  nxCache?: string;
  /** `cold`: an empty npm download cache per job; `warm`: the machine's (`--npm-cache`, default warm). */
  npmCache: 'cold' | 'warm';
  /** Also write the per-step metrics and totals here, as JSON (`--metrics-json`). */
  metricsJson?: string;
}

/** One job's agent: its folders, ready for the job. */
export interface Agent {
  /** Folder of this agent (bin folder, hook env files); removed on release. */
  dir: string;
  checkout: string;
  /** First on PATH: the local `buildkite-agent` and the ECR stand-in. */
  binDir: string;
  /** The Nx cache this agent reads and writes. */
  nxCacheDir: string;
  /** Its own empty npm download cache (`--npm-cache cold`), else the machine's. */
  npmCacheDir: string | undefined;
}

/** What the agents share, for the report. */
export interface AgentCaches {
  depsCache: string;
  /** Whether `depsCache` outlives the run (`--deps-cache`). */
  depsCacheKept: boolean;
  nxCache: { kind: 'directory'; dir: string } | { kind: 'off' };
  npmCache: 'cold' | 'warm';
}

export interface AgentPool {
  readonly caches: AgentCaches;
  /** Where the agents live (shown in the run's first line). */
  readonly root: string;
  /** A new agent of `queue` for the `index`-th step `key`, its checkout of `commit` made. */
  start(job: { index: number; key: string; queue: QueueAgents }): Promise<Agent>;
  release(agent: Agent): Promise<void>;
  /** Removes every agent and the run's own caches. */
  close(): Promise<void>;
  /** The same, synchronously, for a second Ctrl-C: the process dies right after. */
  closeNow(): void;
}

export interface FreshCloneOptions {
  flags: AgentFlags;
  cwd: string;
  /** The repository and commit every agent clones. */
  repo: string;
  commit: string;
  /** git's environment for the clone. */
  env: NodeJS.ProcessEnv;
}

export async function openFreshCloneAgents(o: FreshCloneOptions): Promise<AgentPool> {
  const root = await mkdtemp(join(tmpdir(), 'engex-agents-'));
  const depsCache = o.flags.depsCache !== undefined ? resolve(o.cwd, o.flags.depsCache) : join(root, 'deps-cache');
  const nxCache: AgentCaches['nxCache'] =
    o.flags.nxCache === 'off' ? { kind: 'off' } : { kind: 'directory', dir: o.flags.nxCache !== undefined ? resolve(o.cwd, o.flags.nxCache) : join(root, 'nx-cache') };
  await mkdir(depsCache, { recursive: true });
  if (nxCache.kind === 'directory') await mkdir(nxCache.dir, { recursive: true });
  const caches: AgentCaches = { depsCache, depsCacheKept: o.flags.depsCache !== undefined, nxCache, npmCache: o.flags.npmCache };
  return {
    caches,
    root,
    async start({ index, key, queue }) {
      const dir = join(root, 'agents', `${String(index + 1).padStart(3, '0')}-${key.replace(/[^A-Za-z0-9._-]/g, '_')}`);
      const checkout = join(dir, 'checkout');
      try {
        await cloneCommit(o.repo, o.commit, checkout, o.env);
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
      // The shared folder stands in for the remote cache; an agent that may not write it (untrusted:
      // the read token) gets a cache of its own, so nothing it builds reaches a trusted build.
      const nxCacheDir = nxCache.kind === 'directory' && queue.cacheWrite ? nxCache.dir : join(dir, 'nx');
      const npmCacheDir = caches.npmCache === 'cold' ? join(dir, 'npm-cache') : undefined;
      return { dir, checkout, binDir: join(dir, 'bin'), nxCacheDir, npmCacheDir };
    },
    release: (agent) => rm(agent.dir, { recursive: true, force: true }),
    close: () => rm(root, { recursive: true, force: true }),
    closeNow: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A fresh checkout of `commit` in `dir`, as after the agent's checkout and `git clean`: nothing gitignored, nothing untracked. */
export async function cloneCommit(repo: string, commit: string, dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  await mkdir(dir, { recursive: true });
  // A local clone hard-links the objects; the working tree is new, as an agent's checkout is.
  await run('git', ['clone', '--quiet', '--no-checkout', repo, dir], { env, timeout: 120_000 });
  await run('git', ['-C', dir, 'checkout', '--quiet', '--detach', commit], { env, timeout: 120_000 });
}
