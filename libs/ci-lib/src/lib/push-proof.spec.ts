import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultServersPerTest, type FaultServer } from '../testing/fault-server.js';
import { createPushProver, recordPush, type PushProverOptions } from './push-proof.js';
import type { RemoteImage } from './registry-client.js';

// `buildkite-agent` (Buildkite's agent API) and Buildkite's REST API are the only fakes: a script
// on PATH that keeps meta-data in a file, and a server on 127.0.0.1.

const SHA = '0123456789abcdef0123456789abcdef01234567';
const DIGEST = `sha256:${'d'.repeat(64)}`;
const remote: RemoteImage = { manifestDigest: DIGEST, configDigest: 'sha256:c', labels: {}, size: 1 };
let dir: string;
const fault = faultServersPerTest();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engex-push-proof-'));
  // meta-data get <key> prints the stored value (exit 1 when absent, as the real agent); set <key> <value> stores it.
  await writeFile(
    join(dir, 'buildkite-agent'),
    `#!/bin/bash\nstore="${dir}/meta-$3"\nif [ "$2" = get ]; then [ -f "$store" ] || exit 1; cat "$store"; exit 0; fi\nif [ "$2" = set ]; then printf '%s' "$4" > "$store"; exit 0; fi\nexit 2\n`,
  );
  await chmod(join(dir, 'buildkite-agent'), 0o755);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const options = (over: Partial<PushProverOptions> = {}): PushProverOptions => ({
  env: { PATH: `${dir}:${process.env['PATH'] ?? ''}` },
  onBuildkite: true,
  key: 'engex:halow:digest',
  revision: SHA,
  trustedBranches: ['main', 'release/*'],
  deadlineMs: 5000,
  retry: { attempts: 1 },
  log: () => undefined,
  ...over,
});

const api = (builds: unknown): Promise<FaultServer> => fault({ behaviours: [{ kind: 'json', body: builds }] });

describe('createPushProver', () => {
  it("a retry: this build's meta-data, recorded right after the push, proves the digest", async () => {
    expect(await createPushProver(options())(remote)).toBeUndefined();
    await recordPush(options(), DIGEST);
    expect(await readFile(join(dir, 'meta-engex:halow:digest'), 'utf8')).toBe(DIGEST);
    expect(await createPushProver(options())(remote)).toEqual({ digest: DIGEST, by: "this build's meta-data engex:halow:digest" });
    // Another digest in the meta-data proves nothing about this one.
    expect(await createPushProver(options())({ ...remote, manifestDigest: `sha256:${'e'.repeat(64)}` })).toBeUndefined();
  });

  it('a rebuild: only a trusted build of this commit that recorded the digest counts', async () => {
    const opts = (server: FaultServer) => options({ onBuildkite: false, api: { token: 't0k', organization: 'highspot', pipeline: 'halow' }, apiBaseUrl: server.url });
    const pr = await api([{ number: 7, branch: 'main', commit: SHA, pull_request: { id: '12' } }]);
    expect(await createPushProver(opts(pr))(remote)).toBeUndefined();
    const feature = await api([{ number: 8, branch: 'feature/x', commit: SHA, pull_request: null }]);
    expect(await createPushProver(opts(feature))(remote)).toBeUndefined();
    const otherCommit = await api([{ number: 9, branch: 'main', commit: 'f'.repeat(40), pull_request: null }]);
    expect(await createPushProver(opts(otherCommit))(remote)).toBeUndefined();
    const main = await api([
      { number: 8, branch: 'feature/x', commit: SHA, pull_request: null },
      { number: 41, branch: 'main', commit: SHA, pull_request: null },
    ]);
    expect(await createPushProver(opts(main))(remote)).toEqual({ digest: DIGEST, by: 'build 41 on main (Buildkite API)' });
    expect(main.requests[0]?.headers['authorization']).toBe('Bearer t0k');
  });
});
