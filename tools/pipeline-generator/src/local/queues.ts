import { randomBytes } from 'node:crypto';
import type { QueueAgents } from './local-env.js';

/**
 * The local stand-in for the fleet's queues: which secrets each queue's agents hold (the trust
 * zones of the root README). Tokens are fresh per run; nothing of the caller's is used.
 */

/** The queue names of engex.config.json, read defensively (`untrustedQueue` is newer than some configs). */
export interface QueueNames {
  checks: string;
  docker: string;
  deploy: string;
  untrusted: string;
}

export function readQueueNames(config: unknown): QueueNames {
  const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const text = (v: unknown, fallback: string): string => (typeof v === 'string' && v !== '' ? v : fallback);
  const c = obj(config);
  const checks = text(obj(c['agents'])['queue'], 'default');
  return { checks, docker: text(c['dockerQueue'], checks), deploy: text(c['deployQueue'], 'deploy'), untrusted: text(c['untrustedQueue'], 'untrusted') };
}

export interface LocalSecrets {
  nxCacheRead: string;
  nxCacheWrite: string;
  /** Test Engine's token (BUILDKITE_ANALYTICS_TOKEN), recorded uploads only. */
  analytics: string;
  /** Ops repo URL → the local bare repo standing in for it: the deploy queue's write access. */
  opsRepos: Readonly<Record<string, string>>;
}

export function localSecrets(opsRepos: Readonly<Record<string, string>>): LocalSecrets {
  const token = (): string => randomBytes(24).toString('hex');
  return { nxCacheRead: token(), nxCacheWrite: token(), analytics: token(), opsRepos };
}

const NX_TOKEN = 'NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN';

/**
 * The local defaults (the root README's queue table): the untrusted queue gets the Nx cache read
 * token and Test Engine's upload-only token; the trusted check and docker queues the write token
 * (and Test Engine's); the deploy queue also reaches the ops
 * repos (git `insteadOf` to the local bare repos, through `GIT_CONFIG_*`, as an agent's git
 * credentials would). Only trusted queues may write the shared caches (IAM on a fleet), and they
 * run `guardHooks` (queue → `pre-command` path: the agent guard). Queues that share a name share a
 * holder: trusted wins over untrusted.
 */
export function defaultQueues(names: QueueNames, secrets: LocalSecrets, guardHooks: Readonly<Record<string, string>> = {}): Record<string, QueueAgents> {
  const ops = Object.entries(secrets.opsRepos);
  const opsGit: Record<string, string> = { GIT_CONFIG_COUNT: String(ops.length) };
  ops.forEach(([url, path], i) => {
    opsGit[`GIT_CONFIG_KEY_${i}`] = `url.file://${path}.insteadOf`;
    opsGit[`GIT_CONFIG_VALUE_${i}`] = url;
  });
  const trusted = { [NX_TOKEN]: secrets.nxCacheWrite, BUILDKITE_ANALYTICS_TOKEN: secrets.analytics };
  const hooks = (queue: string): QueueAgents['hooks'] => (guardHooks[queue] !== undefined ? { 'pre-command': guardHooks[queue] } : {});
  return {
    [names.untrusted]: { env: { [NX_TOKEN]: secrets.nxCacheRead, BUILDKITE_ANALYTICS_TOKEN: secrets.analytics }, hooks: {}, cacheWrite: false },
    [names.checks]: { env: trusted, hooks: hooks(names.checks), cacheWrite: true },
    [names.docker]: { env: trusted, hooks: hooks(names.docker), cacheWrite: true },
    [names.deploy]: { env: { ...trusted, ...(ops.length > 0 ? opsGit : {}) }, hooks: hooks(names.deploy), cacheWrite: true },
  };
}

/** The queues whose agents hold credentials: the ones the agent guard protects. */
export function trustedQueueNames(names: QueueNames): string[] {
  return [...new Set([names.checks, names.docker, names.deploy])].filter((q) => q !== names.untrusted);
}
