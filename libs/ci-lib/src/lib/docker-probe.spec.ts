import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNeeding, dockerRequirement } from '../testing/requirements.js';
import { legacyBuilderEnv, probeDocker } from './docker-probe.js';

describe('legacyBuilderEnv', () => {
  it('selects the legacy builder only without buildx, and never over the caller', () => {
    expect(legacyBuilderEnv({}, false)).toEqual({ DOCKER_BUILDKIT: '0' });
    expect(legacyBuilderEnv({}, true)).toEqual({});
    expect(legacyBuilderEnv({ DOCKER_BUILDKIT: '1' }, false)).toEqual({});
  });
});

describe('probeDocker', () => {
  let bin: string;
  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), 'engex-probe-'));
    // A client whose daemon is down, as `docker version` reports it.
    await writeFile(join(bin, 'docker'), '#!/bin/sh\necho "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2\nexit 1\n');
    await chmod(join(bin, 'docker'), 0o755);
  });
  afterAll(async () => rm(bin, { recursive: true, force: true }));

  it('says the client is missing when docker is not on PATH', async () => {
    expect(await probeDocker({ PATH: join(bin, 'nowhere') })).toEqual({ available: false, reason: 'the `docker` client is not on PATH' });
  });

  it("quotes the client's last line when the daemon does not answer", async () => {
    expect(await probeDocker({ PATH: bin, DOCKER_HOST: 'unix:///nope.sock' })).toEqual({
      available: false,
      reason: 'DOCKER_HOST=unix:///nope.sock: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    });
  });
});

describeNeeding([dockerRequirement()], 'probeDocker against the real engine', () => {
  it("reports the real engine's version and whether buildx is there", async () => {
    const status = await probeDocker(process.env);
    expect(status).toMatchObject({ available: true, serverVersion: expect.stringMatching(/^\d+\.\d+/), buildx: expect.any(Boolean) });
  });
});
