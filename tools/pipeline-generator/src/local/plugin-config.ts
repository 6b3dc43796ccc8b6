import { LocalPlanError } from '../core/errors.js';

/**
 * The plugins a local run emulates, read from their configuration in the uploaded YAML. Each
 * emulation mirrors one pinned version's documented behaviour (its plugin.yml and hooks); any
 * other plugin, version or option fails the plan instead of passing silently. Pure.
 */

export const CACHE_LEVELS = ['file', 'step', 'branch', 'pipeline', 'all'] as const;
export type CacheLevel = (typeof CACHE_LEVELS)[number];

export type LocalPlugin =
  /** cache#v1.12.0: pre-command restores the first hit from `file` up to `restore`; post-command saves every `save` level after a passed command. */
  | {
      kind: 'cache';
      ref: string;
      path: string;
      manifest: string[];
      restore?: CacheLevel;
      save: CacheLevel[];
      compression: 'none' | 'tgz' | 'zstd';
      keyExtra: string;
      softFail: boolean;
      force: boolean;
    }
  /** ecr#v2.10.0: the environment hook logs in to each account's registry (here: the run's registry answers). */
  | { kind: 'ecr'; ref: string; login: boolean; registries: string[] }
  /** test-collector#v1.11.0: the pre-exit hook uploads the files (here: recorded in the run folder, never sent). */
  | { kind: 'test-collector'; ref: string; files: string[]; format: 'junit' | 'json'; tokenEnv: string; branches?: string; excludeBranches?: string };

/** The versions emulated, by plugin name. */
export const EMULATED_PLUGINS = { cache: 'v1.12.0', ecr: 'v2.10.0', 'test-collector': 'v1.11.0' } as const;

type Config = Readonly<Record<string, unknown>>;

export function readPlugin(ref: string, config: Config, where: string): LocalPlugin {
  const m = /^(?:buildkite-plugins\/)?([a-z-]+?)(?:-buildkite-plugin)?#(v[\d.]+)$/.exec(ref);
  const name = m?.[1] as keyof typeof EMULATED_PLUGINS | undefined;
  const emulated = Object.entries(EMULATED_PLUGINS)
    .map(([n, v]) => `${n}#${v}`)
    .join(', ');
  if (!m || name === undefined || !(name in EMULATED_PLUGINS) || EMULATED_PLUGINS[name] !== m[2]) {
    throw new LocalPlanError(`${where}: plugin ${ref} has no local emulation (emulated: ${emulated}); pin one of those, or add its emulation in local/.`);
  }
  const problems: string[] = [];
  const known = (keys: readonly string[]): void => {
    for (const k of Object.keys(config)) if (!keys.includes(k)) problems.push(`${k}: not emulated locally`);
  };
  const list = (v: unknown, key: string): string[] => {
    if (typeof v === 'string')
      return v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    if (Array.isArray(v) && v.every((s) => typeof s === 'string' || typeof s === 'number')) return v.map(String);
    problems.push(`${key}: expected a string or a list, got ${JSON.stringify(v)}`);
    return [];
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = config[key];
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    problems.push(`${key}: expected true or false, got ${JSON.stringify(v)}`);
    return fallback;
  };
  const level = (v: unknown, key: string): CacheLevel | undefined => {
    if (CACHE_LEVELS.includes(v as CacheLevel)) return v as CacheLevel;
    problems.push(`${key}: expected one of ${CACHE_LEVELS.join(', ')}, got ${JSON.stringify(v)}`);
    return undefined;
  };
  const done = <T extends LocalPlugin>(plugin: T): T => {
    if (problems.length > 0) throw new LocalPlanError(`${where}: plugin ${ref}: ${problems.join('; ')}.`);
    return plugin;
  };
  switch (name) {
    case 'cache': {
      // `backend` and `retries` are accepted: locally every backend is a folder with the fs backend's semantics.
      known(['path', 'manifest', 'restore', 'save', 'compression', 'key-extra', 'soft-fail', 'force', 'backend', 'retries']);
      const path = config['path'];
      if (typeof path !== 'string' || path === '') problems.push(`path: expected a folder, got ${JSON.stringify(path)}`);
      const restore = config['restore'] === undefined ? undefined : level(config['restore'], 'restore');
      const save =
        config['save'] === undefined ? [] : (Array.isArray(config['save']) ? config['save'] : [config['save']]).map((l) => level(l, 'save')).filter((l) => l !== undefined);
      const manifest = config['manifest'] === undefined ? [] : list(config['manifest'], 'manifest');
      if ((restore === 'file' || save.includes('file')) && manifest.length === 0) problems.push('manifest: the file level needs one');
      if (restore === undefined && save.length === 0) problems.push('restore or save: the plugin needs one of them');
      const compression = config['compression'] ?? 'none';
      if (compression !== 'none' && compression !== 'tgz' && compression !== 'zstd')
        problems.push(`compression: none, tgz or zstd are emulated, got ${JSON.stringify(compression)}`);
      const keyExtra = config['key-extra'] ?? '';
      if (typeof keyExtra !== 'string') problems.push(`key-extra: expected a string, got ${JSON.stringify(keyExtra)}`);
      return done({
        kind: 'cache',
        ref,
        path: path as string,
        manifest,
        restore,
        save,
        compression: compression as 'none' | 'tgz' | 'zstd',
        keyExtra: String(keyExtra),
        softFail: bool('soft-fail', false),
        force: bool('force', false),
      });
    }
    case 'ecr': {
      known(['login', 'account-ids', 'account_ids', 'region', 'no-include-email', 'retries']);
      const region = config['region'];
      if (typeof region !== 'string' || region === '') problems.push(`region: expected an AWS region, got ${JSON.stringify(region)}`);
      const ids = list(config['account-ids'] ?? config['account_ids'] ?? [], 'account-ids');
      if (ids.length === 0) problems.push('account-ids: the local run needs them to know which registry hosts the run registry stands in for');
      const suffix = String(region).startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
      return done({ kind: 'ecr', ref, login: bool('login', true), registries: ids.map((id) => `${id}.dkr.ecr.${String(region)}.${suffix}`) });
    }
    case 'test-collector': {
      known([
        'files',
        'format',
        'api-token-env-name',
        'annotation-link',
        'branches',
        'exclude-branches',
        'debug',
        'timeout',
        'base-path',
        'follow-symlinks',
        'upload-concurrency',
        'missing-error',
      ]);
      const format = config['format'];
      if (format !== 'junit' && format !== 'json') problems.push(`format: expected junit or json, got ${JSON.stringify(format)}`);
      const tokenEnv = config['api-token-env-name'] ?? 'BUILDKITE_ANALYTICS_TOKEN';
      return done({
        kind: 'test-collector',
        ref,
        files: list(config['files'], 'files'),
        format: format as 'junit' | 'json',
        tokenEnv: String(tokenEnv),
        branches: typeof config['branches'] === 'string' ? config['branches'] : undefined,
        excludeBranches: typeof config['exclude-branches'] === 'string' ? config['exclude-branches'] : undefined,
      });
    }
  }
}
