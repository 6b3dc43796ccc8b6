import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe } from 'vitest';
import { findWorkspaceRoot } from '@engex/workspace-config';
import { registryBinaryAvailable } from '../lib/local-registry.js';

/**
 * Whether a test's outside dependency is here. A missing one skips the test visibly (with the
 * reason in its name), on a laptop and on a Buildkite agent alike. Where the dependency is part
 * of the contract, the runner names it in ENGEX_REQUIRE (a comma list: `.ci/run` sets
 * `docker,registry,shared,kubectl,zstd`), and then a missing one fails the suite. Tests gate
 * through describeNeeding only.
 * CI=true alone decides nothing: Buildkite sets it on every agent, with or without Docker.
 */
export interface Requirement {
  /** The ENGEX_REQUIRE name that makes a missing part a failure. */
  name: string;
  available: boolean;
  /** ENGEX_REQUIRE names it: missing means failed, never skipped. */
  required: boolean;
  reason: string;
}

export type RequirementName = 'docker' | 'registry' | 'shared' | 'kubectl' | 'zstd';

/** ENGEX_REQUIRE as a set, from the given environment. */
export function requiredDependencies(env: Readonly<Record<string, string | undefined>> = process.env): ReadonlySet<string> {
  return new Set(
    (env['ENGEX_REQUIRE'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/**
 * A part of its own (a plugin checkout, a tool of one suite) under the same rules: skipped with
 * `reason` when missing, failed when ENGEX_REQUIRE names `name`. Pass it to describeNeeding.
 */
export function requirement(name: RequirementName | (string & {}), available: boolean, reason: string): Requirement {
  return { name, available, required: requiredDependencies().has(name), reason: available ? '' : reason };
}

function assertAvailable(r: Requirement): void {
  if (!r.available && r.required) throw new Error(`ENGEX_REQUIRE includes ${r.name}: ${r.reason}`);
}

/**
 * For an extra check inside a test that asserts its behaviour anyway (e.g. schema-validating an
 * output): true when the part is here, false when it is missing and not required, and a throw
 * when ENGEX_REQUIRE names it. Whole suites that need a part use describeNeeding.
 */
export function usable(r: Requirement): boolean {
  assertAvailable(r);
  return r.available;
}

export function dockerRequirement(): Requirement {
  const probe = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 15_000 });
  return requirement('docker', probe.status === 0, `docker engine unreachable (${(probe.stderr || probe.error?.message || '').trim().split('\n')[0]}); start dockerd`);
}

export function registryRequirement(): Requirement {
  return requirement('registry', registryBinaryAvailable(), '/usr/bin/docker-registry missing; apt-get install docker-registry');
}

/** The workspace root of the running tests: the nearest parent with nx.json. */
export function findRepoRoot(from: string = process.cwd()): string {
  return findWorkspaceRoot(from);
}

/** `../shared/<path>` next to the checkout, as the shared README prescribes. */
export function sharedRequirement(relativePath: string): Requirement & { path: string } {
  const path = resolve(findRepoRoot(), '..', 'shared', relativePath);
  return { ...requirement('shared', existsSync(path), `../shared/${relativePath} not found next to the checkout`), path };
}

/** `kubectl kustomize` for render tests. No package registry here serves kubectl; the machine image ships it. */
export function kubectlRequirement(): Requirement {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 15_000 });
  return requirement(
    'kubectl',
    probe.status === 0,
    `kubectl not found (${(probe.error?.message || probe.stderr || '').trim().split('\n')[0]}); render tests need \`kubectl kustomize\``,
  );
}

/** A static busybox the docker tests copy into scratch images (their stand-in for a service); part of the docker requirement. */
export const BUSYBOX = '/bin/busybox';

export function busyboxRequirement(): Requirement {
  return requirement('docker', existsSync(BUSYBOX), `${BUSYBOX} missing; apt-get install busybox-static`);
}

/** `zstd`, which `tar --zstd` runs: the dependency cache's compression (as the cache plugin needs it on agents). */
export function zstdRequirement(): Requirement {
  const probe = spawnSync('zstd', ['--version'], { encoding: 'utf8', timeout: 15_000 });
  return requirement('zstd', probe.status === 0, `zstd not found (${(probe.error?.message || probe.stderr || '').trim().split('\n')[0]}); apt-get install zstd`);
}

/**
 * The one way a suite needs outside parts: `describeNeeding([dockerRequirement()], 'name', () => {...})`.
 * Skipped, with every missing part's reason in its title, when something is missing and not
 * required; run and failed in `beforeAll` when ENGEX_REQUIRE names a missing part. So a test can
 * neither pass without its part nor skip where the run promised the part.
 */
export function describeNeeding(requirements: readonly Requirement[], name: string, body: () => void, options?: { timeout?: number }): void;
/** The same, with the options before the body, as vitest's `describe(name, options, fn)`. */
export function describeNeeding(requirements: readonly Requirement[], name: string, options: { timeout?: number }, body: () => void): void;
export function describeNeeding(
  requirements: readonly Requirement[],
  name: string,
  first: (() => void) | { timeout?: number },
  second?: (() => void) | { timeout?: number },
): void {
  const [body, options] = typeof first === 'function' ? [first, (second ?? {}) as { timeout?: number }] : [second as () => void, first];
  const skip = requirements.some((r) => !r.available && !r.required);
  const reasons = requirements.filter((r) => !r.available).map((r) => r.reason);
  const title = skip ? `${name} (skipped: ${reasons.join('; ')})` : name;
  describe.skipIf(skip)(title, options, () => {
    beforeAll(() => {
      for (const r of requirements) assertAvailable(r);
    });
    body();
  });
}
