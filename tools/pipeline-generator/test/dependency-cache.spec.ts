import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeNeeding, requirement } from '@engex/ci-lib/testing';
import { renderShellCommand } from '../src/core/shell.js';
import { commandSteps, type PluginUse } from '../src/core/pipeline.js';
import { planPipeline } from '../src/core/plan.js';
import { BASE_SHA, analyze, planInput } from './fixtures.js';

/**
 * The real hooks of cache#v1.12.0 run with the configuration the planner emits, as the agent runs
 * them: each option becomes `BUILDKITE_PLUGIN_CACHE_<OPTION>`. Only the `aws` CLI is a stub (S3
 * cannot run here); it records every call and fails where told to. The plugin is third-party
 * code and is never committed here: point ENGEX_CACHE_PLUGIN_DIR at a checkout of
 * buildkite-plugins/cache-buildkite-plugin at v1.12.0 (an agent's plugin checkout works). Without
 * it the suite is skipped with that reason; ENGEX_REQUIRE=cache-plugin makes it fail instead.
 */
const PLUGIN = process.env['ENGEX_CACHE_PLUGIN_DIR'] ?? '';
const pluginHere = PLUGIN !== '' && existsSync(join(PLUGIN, 'hooks', 'pre-command'));
const cachePlugin = requirement('cache-plugin', pluginHere, 'ENGEX_CACHE_PLUGIN_DIR does not point at a checkout of cache-buildkite-plugin v1.12.0');
const lastPassed = { rule: 'last-passed-build' as const, base: BASE_SHA, reason: 'last passed build', notes: [] };

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function cacheOf(context: Parameters<typeof planInput>[0]): { plugin: PluginUse; install: string } {
  const pipeline = planPipeline(planInput(context, analyze(['apps/api/src/main.ts']), lastPassed));
  const step = commandSteps(pipeline).find((s) => s.commands.some((c) => c.kind === 'install'));
  const plugin = step?.plugins.find((p) => p.ref === 'cache#v1.12.0');
  if (!step || !plugin) throw new Error('no installing step with the cache plugin');
  return { plugin, install: renderShellCommand({ kind: 'install' }) };
}

/** A checkout with a lockfile, and a PATH whose `aws` and `npm` are stubs that log their calls. */
type Copy = 'ok' | 'transfer-fails' | 'corrupt' | 'cli-error-255';

function agent(aws: { listing: boolean; copy: Copy }) {
  const root = mkdtempSync(join(tmpdir(), 'engex-cache-plugin-'));
  dirs.push(root);
  const checkout = join(root, 'checkout');
  const bin = join(root, 'bin');
  mkdirSync(checkout);
  mkdirSync(bin);
  writeFileSync(join(checkout, 'package-lock.json'), '{"lockfileVersion":3}\n');
  const log = join(root, 'calls.log');
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> '${log}'\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub(
    'aws',
    [
      // list-objects-v2 answers the `exists` probe; any `s3 cp`/`s3 sync` is the outage (or the save).
      `if [ "$2" = list-objects-v2 ]; then ${aws.listing ? `echo '[{"Key": "k"}]'` : 'echo null'}; exit 0; fi`,
      `if [ "$2" = head-object ]; then exit 0; fi`,
      {
        ok: 'exit 0',
        // aws s3 cp: 1 when a transfer failed (the CLI's documented return codes).
        'transfer-fails': `echo 'download failed: Could not connect to the endpoint URL' >&2; exit 1`,
        // The object arrives but is not a zstd tarball: the decompress fails.
        corrupt: 'for last; do :; done; echo garbage > "$last"; exit 0',
        // 255: the CLI's catch-all error status.
        'cli-error-255': `echo 'aws: error' >&2; exit 255`,
      }[aws.copy],
    ].join('\n'),
  );
  stub('npm', 'mkdir -p node_modules && echo "{}" > node_modules/.package-lock.json');
  return { checkout, log, env: { PATH: `${bin}:${process.env['PATH'] ?? ''}` } };
}

function pluginEnv(plugin: PluginUse): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(plugin.config)) env[`BUILDKITE_PLUGIN_CACHE_${key.toUpperCase().replaceAll('-', '_')}`] = String(value);
  return env;
}

function hook(name: 'pre-command' | 'post-command', checkout: string, env: Record<string, string>) {
  return spawnSync('bash', [join(PLUGIN, 'hooks', name)], {
    cwd: checkout,
    encoding: 'utf8',
    env: {
      ...env,
      HOME: checkout,
      BUILDKITE_PLUGIN_S3_CACHE_BUCKET: 'engex-deps',
      BUILDKITE_PIPELINE_SLUG: 'halow',
      BUILDKITE_ORGANIZATION_SLUG: 'highspot',
      BUILDKITE_BRANCH: 'main',
      BUILDKITE_LABEL: 'lint',
      BUILDKITE_COMMAND_EXIT_STATUS: '0',
    },
  });
}

const calls = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

describeNeeding([cachePlugin], 'the dependency cache on a real cache#v1.12.0 hook', () => {
  it('a cache outage costs an npm ci, not a red build (soft-fail)', () => {
    const { plugin, install } = cacheOf({ branch: 'main' });
    const a = agent({ listing: true, copy: 'transfer-fails' });
    const env = { ...a.env, ...pluginEnv(plugin) };
    const restore = hook('pre-command', a.checkout, env);
    expect(restore.status, restore.stdout + restore.stderr).toBe(0);
    expect(restore.stdout).toContain('Cache restore operation failed, continuing build (soft-fail enabled)');
    // Then the step's own first line, as the agent runs it: the install is not skipped.
    const step = spawnSync('bash', ['-e', '-c', install], { cwd: a.checkout, encoding: 'utf8', env });
    expect(step.status).toBe(0);
    expect(calls(a.log)).toContain('npm ci --no-audit --no-fund');

    const corrupt = agent({ listing: true, copy: 'corrupt' });
    const broken = hook('pre-command', corrupt.checkout, { ...corrupt.env, ...pluginEnv(plugin) });
    expect(broken.status, broken.stdout + broken.stderr).toBe(0);
    expect(spawnSync('bash', ['-e', '-c', install], { cwd: corrupt.checkout, env: { ...env, ...corrupt.env } }).status).toBe(0);
    expect(calls(corrupt.log)).toContain('npm ci --no-audit --no-fund');

    // Without soft-fail the same outage fails the job: the option is what keeps it green.
    const strict = hook('pre-command', agent({ listing: true, copy: 'transfer-fails' }).checkout, { ...env, BUILDKITE_PLUGIN_CACHE_SOFT_FAIL: 'false' });
    expect(strict.status).not.toBe(0);
  });

  it("a limit of the plugin: it propagates exit statuses of 128 and above as signals, so the aws CLI's catch-all 255 still fails the job", () => {
    // cache#v1.12.0 lib/shared.bash soft_fail_exec: `exit_code -ge 128` is re-raised. Our agent-loss
    // retry (exit 255, limit 2) then retries the job; the README's setup section says so.
    const { plugin } = cacheOf({ branch: 'main' });
    const a = agent({ listing: true, copy: 'cli-error-255' });
    expect(hook('pre-command', a.checkout, { ...a.env, ...pluginEnv(plugin) }).status).toBe(255);
  });

  it('attack 3: an untrusted build restores but its post-command never writes the shared cache', () => {
    for (const context of [{ branch: 'main', pullRequest: 123 }, { branch: 'feature/x' }]) {
      const { plugin } = cacheOf(context);
      const a = agent({ listing: false, copy: 'ok' });
      mkdirSync(join(a.checkout, 'node_modules', 'nx'), { recursive: true });
      writeFileSync(join(a.checkout, 'node_modules', 'nx', 'poisoned.js'), 'process.exit(0)\n');
      const save = hook('post-command', a.checkout, { ...a.env, ...pluginEnv(plugin) });
      expect(save.status, save.stdout + save.stderr).toBe(0);
      expect(save.stdout).toContain('Cache not setup for saving');
      expect(calls(a.log).filter((c) => c.startsWith('aws s3 '))).toEqual([]);
    }
    // The trusted build of the same lockfile does save (the probe says absent, so it uploads).
    const { plugin } = cacheOf({ branch: 'main' });
    const a = agent({ listing: false, copy: 'ok' });
    mkdirSync(join(a.checkout, 'node_modules'));
    writeFileSync(join(a.checkout, 'node_modules', '.package-lock.json'), '{}\n');
    const save = hook('post-command', a.checkout, { ...a.env, ...pluginEnv(plugin) });
    expect(save.status, save.stdout + save.stderr).toBe(0);
    expect(calls(a.log).some((c) => c.startsWith('aws s3 cp ') && c.includes('s3://engex-deps/'))).toBe(true);
  });

  it('the key differs per platform and Node major (key-extra reaches the hashed key)', () => {
    const { plugin } = cacheOf({ branch: 'main' });
    const keyFor = (extra: string): string => {
      const a = agent({ listing: false, copy: 'ok' });
      hook('pre-command', a.checkout, { ...a.env, ...pluginEnv(plugin), BUILDKITE_PLUGIN_CACHE_KEY_EXTRA: extra });
      return calls(a.log).find((c) => c.includes('list-objects-v2')) ?? '';
    };
    expect(plugin.config['key-extra']).toBe('-linux-x64-node24');
    expect(keyFor('-linux-x64-node24')).not.toBe(keyFor('-linux-arm64-node24'));
    expect(keyFor('-linux-x64-node24')).not.toBe(keyFor('-linux-x64-node22'));
    expect(keyFor('-linux-x64-node24')).toBe(keyFor('-linux-x64-node24'));
  });
});
