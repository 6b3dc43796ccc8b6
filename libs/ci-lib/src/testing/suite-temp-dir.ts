import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * A temp folder for the enclosing suite, under os.tmpdir(): made before its first test, removed
 * after its last. Call it in a describe body; the returned getter gives the path once the suite runs.
 */
export function suiteTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error(`suiteTempDir(${JSON.stringify(prefix)}) is read outside its suite's tests`);
    return dir;
  };
}
