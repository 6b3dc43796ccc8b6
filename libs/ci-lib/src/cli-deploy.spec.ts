import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { createTempWorkspace, hermeticEnv, type TempWorkspace } from './testing/temp-workspace.js';

// `engex-ci deploy verify` through main(), against an environment served on 127.0.0.1; ArgoCD's
// REST API is the fake (it cannot run here), the HTTP and the deadline are real.

const NEW = '0123456789abcdef0123456789abcdef01234567';
const OPS = 'c'.repeat(40);
const TOKEN = 'argo-secret-token-value';

async function run(argv: string[], cwd: string, env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: hermeticEnv(env), cwd, now: () => new Date('2026-11-30T10:00:00Z') });
  return { code, stdout, stderr };
}

describe('engex-ci deploy verify', () => {
  let ws: TempWorkspace;
  let server: Server;
  let base: string;
  let served = 'b'.repeat(40);

  beforeAll(async () => {
    ws = await createTempWorkspace({});
    server = createServer((req, res) => {
      if (req.url === '/version') res.end(JSON.stringify({ revision: served }));
      else if (req.url === '/readyz') res.end('{"status":"ok"}');
      else if (req.url === '/api/v1/applications/halow-staging' && req.headers.authorization === `Bearer ${TOKEN}`) {
        res.end(JSON.stringify({ status: { sync: { status: 'Synced', revision: OPS }, health: { status: 'Healthy' } } }));
      } else res.writeHead(401).end('{"error":"unauthorized"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await ws.cleanup();
  });

  it('--rounds must be a whole number from 1', async () => {
    const result = await run(['deploy', 'verify', '--url', base, '--revision', NEW, '--rounds', '0'], ws.root);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--rounds must be a whole number from 1 to 100 (consecutive rounds in which every source agrees), got "0"');
  });

  it('exits 1 with the last answers when the old revision is still served at the deadline', async () => {
    const result = await run(['deploy', 'verify', '--url', base, '--revision', NEW, '--timeout', '300ms'], ws.root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`FAIL version: serves ${'b'.repeat(40)}, waiting for ${NEW}`);
  });

  it('exits 0 once the new revision is served and ArgoCD is Synced at the ops commit, never printing the token', async () => {
    served = NEW;
    const result = await run(
      ['deploy', 'verify', '--url', base, '--revision', NEW, '--argocd-server', base, '--argocd-app', 'halow-staging', '--ops-commit', OPS, '--timeout', '5s', '--rounds', '1'],
      ws.root,
      { ARGOCD_AUTH_TOKEN: TOKEN },
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(`verified ${NEW} after 0 s (1 round): version serves ${NEW}; readyz HTTP 200; argocd sync Synced at ${OPS}, health Healthy\n`);
  });

  it('takes the ops commit from --ops-commit-file (what deploy bump recorded), and names a bad file', async () => {
    served = NEW;
    await writeFile(join(ws.root, 'ops.commit'), `${OPS}\n`);
    const argv = [
      'deploy',
      'verify',
      '--url',
      base,
      '--revision',
      NEW,
      '--argocd-server',
      base,
      '--argocd-app',
      'halow-staging',
      '--ops-commit-file',
      'ops.commit',
      '--rounds',
      '1',
      '--timeout',
      '5s',
    ];
    const ok = await run(argv, ws.root, { ARGOCD_AUTH_TOKEN: TOKEN });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`argocd sync Synced at ${OPS}`);
    await writeFile(join(ws.root, 'ops.commit'), 'main\n');
    const bad = await run(argv, ws.root, { ARGOCD_AUTH_TOKEN: TOKEN });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--ops-commit-file ops.commit: expected a full commit sha, got "main"');
  });

  it.each([
    [['--url', 'x', '--revision', NEW, '--timeout', 'soon'], '--timeout "soon" is not a duration; use e.g. 10m, 90s or 1500ms'],
    [['--argocd-server', 'http://127.0.0.1:1', '--revision', NEW], '--argocd-server and --argocd-app go together'],
    [['--argocd-server', 'http://127.0.0.1:1', '--argocd-app', 'a', '--revision', NEW], 'ArgoCD needs a token: set ARGOCD_AUTH_TOKEN'],
    [['--revision', NEW], 'nothing to verify: give the environment URL'],
  ])('%j is a usage error (exit 2)', async (flags, message) => {
    const result = await run(['deploy', 'verify', ...flags], ws.root);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
