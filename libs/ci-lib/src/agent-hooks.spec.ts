import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from './lib/run-command.js';
import { startFaultServer, type FaultServer } from './testing/fault-server.js';
import { hermeticEnv } from './testing/temp-workspace.js';

// The agent hooks as the agent runs them: `environment` sourced, the job, then `pre-exit`, in one
// shell so the exported variables carry over. engex-ci is this checkout's source (through tsx);
// buildkite-agent is a stub that records its arguments and stdin (Buildkite's API is not here).

const pkg = fileURLToPath(new URL('..', import.meta.url));
const hooks = join(pkg, 'agent-hooks');

describe('agent hooks: environment starts the Nx cache proxy, pre-exit stops it and annotates', () => {
  let tmp: string;
  let upstream: FaultServer;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'engex-hooks-'));
    await writeFile(join(tmp, 'engex-ci'), `#!/bin/bash\ncd '${pkg}' && exec '${process.execPath}' --import tsx src/bin.ts "$@"\n`);
    await writeFile(join(tmp, 'buildkite-agent'), `#!/bin/bash\n{ echo "ARGS: $*"; cat; } >> '${join(tmp, 'agent.log')}'\n`);
    await chmod(join(tmp, 'engex-ci'), 0o755);
    await chmod(join(tmp, 'buildkite-agent'), 0o755);
    upstream = await startFaultServer({ behaviours: [{ kind: 'status', status: 500 }], lifetimeMs: 60_000 });
  });
  afterAll(async () => {
    await upstream?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  const job = (cacheUrl: string) =>
    runCommand(
      'bash',
      [
        '-c',
        `source '${hooks}/environment'
echo "SERVER=\${NX_SELF_HOSTED_REMOTE_CACHE_SERVER:-unset}"
echo "DIR=$ENGEX_NX_PROXY_DIR"
echo "PID=$(cat "$ENGEX_NX_PROXY_DIR/pid")"
if [[ -n "\${NX_SELF_HOSTED_REMOTE_CACHE_SERVER:-}" ]]; then
  '${process.execPath}' -e 'fetch(process.env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER + "/v1/cache/123").then((r) => console.log("GET", r.status))'
fi
'${hooks}/pre-exit'
echo "PRE-EXIT=$?"`,
      ],
      {
        cwd: tmp,
        env: hermeticEnv({ PATH: `${tmp}:${process.env['PATH']}`, ENGEX_CI_BIN: join(tmp, 'engex-ci'), ENGEX_NX_CACHE_URL: cacheUrl, BUILDKITE_LABEL: ':nx: checks', TMPDIR: tmp }),
        allowFailure: true,
        deadline: { ms: 60_000, error: (ms) => new Error(`hooks did not finish within ${ms} ms`) },
      },
    );
  const field = (out: string, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(out)?.[1];

  it('answers Nx a miss when the shared cache fails, and the annotation says why; nothing is left running', { timeout: 90_000 }, async () => {
    await rm(join(tmp, 'agent.log'), { force: true });
    const result = await job(upstream.url);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(field(result.stdout, 'SERVER')).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(result.stdout).toContain('GET 404');
    expect(field(result.stdout, 'PRE-EXIT')).toBe('0');
    expect(await readFile(join(tmp, 'agent.log'), 'utf8')).toMatchInlineSnapshot(`
      "ARGS: annotate --style warning --context engex-nx-cache --append
      **Nx remote cache unavailable for 1 request** in :nx: checks: the build went on without it (misses ran the tasks, results were not shared).

      | reason | reads answered as a miss | uploads skipped |
      | --- | --- | --- |
      | HTTP 500 | 1 | 0 |
      "
    `);
    expect(existsSync(field(result.stdout, 'DIR')!)).toBe(false);
    expect(existsSync(`/proc/${field(result.stdout, 'PID')}`)).toBe(false);
  });

  it('runs the job without the remote cache when the proxy cannot start, and says so', { timeout: 90_000 }, async () => {
    await rm(join(tmp, 'agent.log'), { force: true });
    const result = await job('ftp://not-a-cache');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(field(result.stdout, 'SERVER')).toBe('unset');
    expect(result.stderr).toContain('the proxy did not start');
    expect(await readFile(join(tmp, 'agent.log'), 'utf8')).toContain('| the agent proxy did not start; remote cache off for this job | 1 | 0 |');
  });

  it('does nothing when no shared cache is configured', async () => {
    const result = await runCommand(
      'bash',
      ['-c', `source '${hooks}/environment'; echo "SERVER=\${NX_SELF_HOSTED_REMOTE_CACHE_SERVER:-unset}"; '${hooks}/pre-exit'; echo "PRE-EXIT=$?"`],
      {
        cwd: tmp,
        env: hermeticEnv({ PATH: `${tmp}:${process.env['PATH']}` }),
      },
    );
    expect([field(result.stdout, 'SERVER'), field(result.stdout, 'PRE-EXIT')]).toEqual(['unset', '0']);
  });
});
