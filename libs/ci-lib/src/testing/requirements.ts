import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { registryBinaryAvailable } from './start-registry.js';

/**
 * Whether a test's outside dependency is here. Outside CI a missing one skips the test visibly
 * (with the reason in its name); with CI=true the test runs and fails on `assertAvailable()`.
 */
export interface Requirement {
  available: boolean;
  /** true when the tests should be skipped (missing, and not in CI). */
  skip: boolean;
  reason: string;
  /** Call in beforeAll: throws the reason when missing and not skipping (that is, in CI). */
  assertAvailable(): void;
}

const inCi = (): boolean => process.env['CI'] === 'true';

function requirement(available: boolean, reason: string): Requirement {
  return {
    available,
    skip: !available && !inCi(),
    reason: available ? '' : reason,
    assertAvailable() {
      if (!available && inCi()) throw new Error(`CI=true requires it: ${reason}`);
    },
  };
}

export function dockerRequirement(): Requirement {
  const probe = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 15_000 });
  return requirement(probe.status === 0, `docker engine unreachable (${(probe.stderr || probe.error?.message || '').trim().split('\n')[0]}); start dockerd`);
}

export function registryRequirement(): Requirement {
  return requirement(registryBinaryAvailable(), '/usr/bin/docker-registry missing; apt-get install docker-registry');
}

/** The workspace root: the nearest parent with nx.json. */
export function findRepoRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${from}`);
    dir = parent;
  }
  return dir;
}

/** `../shared/<path>` next to the checkout, as the shared README prescribes. */
export function sharedRequirement(relativePath: string): Requirement & { path: string } {
  const path = resolve(findRepoRoot(), '..', 'shared', relativePath);
  return { ...requirement(existsSync(path), `../shared/${relativePath} not found next to the checkout`), path };
}

/**
 * `kubectl kustomize` for render tests. kubectl cannot be installed from any package registry
 * here, so where it is absent the tests skip visibly, on CI agents too; `.ci/run`, whose machine
 * image ships it, sets ENGEX_REQUIRE_KUBECTL=1 so a missing one fails there instead.
 */
export function kubectlRequirement(): Requirement {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 15_000 });
  const available = probe.status === 0;
  const required = process.env['ENGEX_REQUIRE_KUBECTL'] === '1';
  const reason = available ? '' : `kubectl not found (${(probe.error?.message || probe.stderr || '').trim().split('\n')[0]}); render tests need \`kubectl kustomize\``;
  return {
    available,
    skip: !available && !required,
    reason,
    assertAvailable() {
      if (!available && required) throw new Error(`ENGEX_REQUIRE_KUBECTL=1 requires it: ${reason}`);
    },
  };
}

