import { afterAll, beforeAll } from 'vitest';
import { startLocalRegistry, type LocalRegistry } from '../lib/local-registry.js';

/**
 * A real docker-registry for the enclosing suite (gate the suite on registryRequirement): started
 * before its first test, stopped after its last. The returned getter gives it once the suite runs.
 */
export function suiteRegistry(): () => LocalRegistry {
  let registry: LocalRegistry | undefined;
  beforeAll(async () => {
    registry = await startLocalRegistry();
  });
  afterAll(async () => registry?.stop());
  return () => {
    if (registry === undefined) throw new Error('suiteRegistry() is read outside its suite, or the registry did not start');
    return registry;
  };
}
