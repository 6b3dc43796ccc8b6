import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from './cli.js';
import { createEcrClient } from './lib/ecr-credentials.js';
import { startFaultServer, type FaultServer } from './testing/fault-server.js';
import { uploadTestImage } from './testing/oci-upload.js';
import { suiteRegistry } from './testing/suite-registry.js';
import { describeNeeding, registryRequirement } from './testing/requirements.js';
import { createTempWorkspace, hermeticEnv, servicePackage, type TempWorkspace } from './testing/temp-workspace.js';

// `ecr check` against ECR faked at the SDK's endpoint (the real SDK client signs and sends
// DescribeRepositories to a 127.0.0.1 server answering in ECR's JSON protocol), and against the
// real local registry for REGISTRY=host:port.

const ECR = '460210468233.dkr.ecr.us-east-1.amazonaws.com';
const credentials = { accessKeyId: 'AKIAECRCHECKTEST0001', secretAccessKey: 'ecrCheckTestSecret/not+real00000000000000' };
const sdk: CliIo['ecrClient'] = (region, options) => createEcrClient(region, { ...options, credentials });

let ws: TempWorkspace;
let out: string;
const servers: FaultServer[] = [];
beforeAll(async () => {
  ws = await createTempWorkspace({ packages: { 'apps/halow': servicePackage('@engex/halow') } });
  out = await mkdtemp(join(tmpdir(), 'engex-ecr-check-'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await ws?.cleanup();
  await rm(out, { recursive: true, force: true });
});

async function run(argv: string[], env: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: hermeticEnv(env),
    cwd: ws.root,
    now: () => new Date('2026-11-30T10:00:00Z'),
    ecrClient: sdk,
  });
  return { code, stdout, stderr };
}

/** An ECR endpoint answering DescribeRepositories once with `status` and `body`. */
async function ecrEndpoint(status: number, body: unknown): Promise<FaultServer> {
  const server = await startFaultServer({
    behaviours: [{ kind: 'ok', status, headers: { 'Content-Type': 'application/x-amz-json-1.1' }, body: JSON.stringify(body) }],
    lifetimeMs: 15_000,
  });
  servers.push(server);
  return server;
}

const repository = (mutability: string, scanOnPush: boolean) => ({
  repositories: [
    {
      registryId: '460210468233',
      repositoryName: 'engex/halow',
      repositoryUri: `${ECR}/engex/halow`,
      imageTagMutability: mutability,
      imageScanningConfiguration: { scanOnPush },
    },
  ],
});

describe('engex-ci ecr check on ECR (SDK endpoint faked)', () => {
  it('passes an existing IMMUTABLE repository with scan on push (exit 0), asking for the configured account', async () => {
    const server = await ecrEndpoint(200, repository('IMMUTABLE', true));
    const result = await run(['ecr', 'check', '--project', 'halow'], { AWS_ENDPOINT_URL_ECR: server.url });
    expect(result.stdout).toBe(
      `ecr check engex/halow in account 460210468233, region us-east-1 (${ECR})\n` +
        `ok       repository exists: ${ECR}/engex/halow\n` +
        'ok       tag mutability is IMMUTABLE\n' +
        'ok       scan on push is on\n',
    );
    expect(result.code).toBe(0);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers['x-amz-target']).toBe('AmazonEC2ContainerRegistry_V20150921.DescribeRepositories');
    expect(server.requests[0]!.headers['authorization']).toContain(`Credential=${credentials.accessKeyId}/`);
  });

  it('exits 2 for a missing repository with the Terraform line, its file, the account and region, also in the annotation', async () => {
    const server = await ecrEndpoint(400, {
      __type: 'RepositoryNotFoundException',
      message: "The repository with name 'engex/halow' does not exist in the registry with id '460210468233'",
    });
    const annotation = join(out, 'missing.md');
    const result = await run(['ecr', 'check', '--project', 'halow', '--annotation', annotation], { AWS_ENDPOINT_URL_ECR: server.url });
    expect(result.code).toBe(2);
    expect(result.stdout).toMatchInlineSnapshot(`
      "ecr check engex/halow in account 460210468233, region us-east-1 (460210468233.dkr.ecr.us-east-1.amazonaws.com)
      error    repository engex/halow does not exist in account 460210468233, region us-east-1; the image push would fail. Add the line below to the engex section of terraform/aws_sharedart/us-east-1/ecr-private/service-ecr-locals.tf in the Terraform repo and apply it

          halow = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }

      "
    `);
    expect(await readFile(annotation, 'utf8')).toMatchInlineSnapshot(`
      "### ECR check failed

      \`engex/halow in account 460210468233, region us-east-1 (460210468233.dkr.ecr.us-east-1.amazonaws.com)\`

      - :x: repository engex/halow does not exist in account 460210468233, region us-east-1; the image push would fail. Add the line below to the engex section of terraform/aws_sharedart/us-east-1/ecr-private/service-ecr-locals.tf in the Terraform repo and apply it

      In \`terraform/aws_sharedart/us-east-1/ecr-private/service-ecr-locals.tf\`:

      \`\`\`hcl
      halow = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }
      \`\`\`
      "
    `);
  });

  it('fails a MUTABLE repository (exit 1), and only warns with --allow-mutable (exit 0)', async () => {
    const strict = await run(['ecr', 'check', '--project', 'halow'], { AWS_ENDPOINT_URL_ECR: (await ecrEndpoint(200, repository('MUTABLE', true))).url });
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('error    tag mutability is MUTABLE: the idempotent push relies on IMMUTABLE tags');
    expect(strict.stdout).toContain('or pass --allow-mutable to accept it as a warning');
    const allowed = await run(['ecr', 'check', '--project', 'halow', '--allow-mutable'], { AWS_ENDPOINT_URL_ECR: (await ecrEndpoint(200, repository('MUTABLE', true))).url });
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('warning  tag mutability is MUTABLE');
    expect(allowed.stdout).toContain('(allowed by --allow-mutable)');
  });

  it('warns (exit 0) when scan on push is off: the pipeline Trivy gate is what blocks a vulnerable image', async () => {
    const result = await run(['ecr', 'check', '--project', 'halow'], { AWS_ENDPOINT_URL_ECR: (await ecrEndpoint(200, repository('IMMUTABLE', false))).url });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('warning  scan on push is off');
  });

  it('exits 4 naming the permission when ECR refuses the call', async () => {
    const server = await ecrEndpoint(400, { __type: 'AccessDeniedException', message: 'not authorized to perform: ecr:DescribeRepositories' });
    const result = await run(['ecr', 'check', '--project', 'halow'], { AWS_ENDPOINT_URL_ECR: server.url });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('ECR DescribeRepositories engex/halow failed: AccessDeniedException');
    expect(result.stderr).not.toContain(credentials.secretAccessKey);
  });

  it('ends at ENGEX_CI_AWS_DEADLINE when the endpoint never answers (exit 4)', async () => {
    const server = await startFaultServer({ behaviours: [{ kind: 'hang' }], lifetimeMs: 15_000 });
    servers.push(server);
    const result = await run(['ecr', 'check', '--project', 'halow'], { AWS_ENDPOINT_URL_ECR: server.url, ENGEX_CI_AWS_DEADLINE: '1' });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`ECR DescribeRepositories on http://127.0.0.1:${server.port} did not finish within its 1.0 s deadline`);
  });
});

describeNeeding([registryRequirement()], 'engex-ci ecr check on a plain registry (real docker-registry)', () => {
  const registry = suiteRegistry();

  it('says what it cannot read there instead of guessing', async () => {
    const before = await run(['ecr', 'check', '--project', 'halow'], { REGISTRY: registry().host });
    expect(before.code).toBe(0);
    expect(before.stdout.replaceAll(registry().host, '<registry>')).toMatchInlineSnapshot(`
      "ecr check engex/halow on plain registry <registry>
      ok       <registry> answers the distribution API (GET /v2/)
      note     engex/halow has no tags yet; a plain registry creates the repository on the first push
      note     tag mutability cannot be read through the distribution API: not checked (ECR enforces IMMUTABLE)
      note     scan on push is an ECR feature: not checked on a plain registry
      "
    `);
    await uploadTestImage(registry().host, 'engex/halow', 'a');
    await uploadTestImage(registry().host, 'engex/halow', 'b');
    const after = await run(['ecr', 'check', '--project', 'halow'], { REGISTRY: registry().host });
    expect(after.stdout).toContain('ok       engex/halow exists with 2 tags\n');
  });

  it('exits 4 when the registry is not there', async () => {
    const result = await run(['ecr', 'check', '--project', 'halow'], { REGISTRY: '127.0.0.1:1', ENGEX_CI_REGISTRY_DEADLINE: '2' });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('127.0.0.1:1');
  });
});
