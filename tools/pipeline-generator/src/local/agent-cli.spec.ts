import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentMain } from './agent-cli.js';

describe('the local buildkite-agent', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engex-agent-'));
    await mkdir(join(dir, 'a'), { recursive: true });
    await mkdir(join(dir, 'b'), { recursive: true });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** One call as a job in checkout `cwd` of step `step` makes it. */
  const agent = async (argv: string[], opts: { stdin?: string; cwd?: string; step?: string } = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await agentMain({
      argv,
      env: { ENGEX_LOCAL_AGENT_STATE: join(dir, 'state'), BUILDKITE_STEP_KEY: opts.step ?? 's1' },
      cwd: opts.cwd ?? join(dir, 'a'),
      stdin: async () => opts.stdin ?? '',
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    });
    return { code, stdout, stderr };
  };

  it('meta-data: set from stdin or an argument, get (or --default), exists 0/100, an empty value refused', async () => {
    expect((await agent(['meta-data', 'exists', 'engex:halow:digest'])).code).toBe(100);
    expect(await agent(['meta-data', 'get', 'engex:halow:digest'])).toMatchObject({ code: 1, stderr: expect.stringContaining('no such key') });
    expect((await agent(['meta-data', 'get', 'k', '--default', 'd'])).stdout).toBe('d');
    expect((await agent(['meta-data', 'set', 'engex:halow:digest'], { stdin: 'sha256:1\n' })).code).toBe(0);
    expect(await agent(['meta-data', 'get', 'engex:halow:digest'])).toMatchObject({ code: 0, stdout: 'sha256:1\n' });
    expect((await agent(['meta-data', 'exists', 'engex:halow:digest'])).code).toBe(0);
    expect((await agent(['meta-data', 'set', 'k', 'v'])).code).toBe(0);
    expect((await agent(['meta-data', 'set', 'k'], { stdin: ' \n' })).code).toBe(1);
  });

  it('artifact: upload from one step, download by path or glob, --step picks the uploader, none found fails', async () => {
    await mkdir(join(dir, 'a', 'apps/x/dist'), { recursive: true });
    await writeFile(join(dir, 'a', 'apps/x/dist/sbom.cdx.json'), '{"from":"a"}');
    expect((await agent(['artifact', 'upload', 'apps/x/dist/*.json;nothing/*'], { step: 'x:image' })).code).toBe(0);
    const b = join(dir, 'b');
    expect((await agent(['artifact', 'download', 'apps/x/dist/sbom.cdx.json', '.', '--step', 'x:image'], { cwd: b })).code).toBe(0);
    expect(await readFile(join(b, 'apps/x/dist/sbom.cdx.json'), 'utf8')).toBe('{"from":"a"}');
    expect((await agent(['artifact', 'download', 'apps/**/*.json', 'out'], { cwd: b })).code).toBe(0);
    expect(await readFile(join(b, 'out/apps/x/dist/sbom.cdx.json'), 'utf8')).toBe('{"from":"a"}');
    expect((await agent(['artifact', 'download', 'apps/x/dist/sbom.cdx.json', '.', '--step', 'other'], { cwd: b })).code).toBe(1);
  });

  it('annotate: a body argument or stdin, --style checked, --append adds to the context', async () => {
    expect((await agent(['annotate', '--style', 'info', '--context', 'image-x', 'pushed: '])).code).toBe(0);
    expect((await agent(['annotate', '--style', 'info', '--context', 'image-x', '--append'], { stdin: 'sha256:1\n' })).code).toBe(0);
    expect(await readFile(join(dir, 'state/annotations/image-x.md'), 'utf8')).toBe('<!-- style: info -->\npushed: sha256:1\n');
    expect(await agent(['annotate', '--style', 'loud', 'x'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--style: expected one of success, info, warning, error') });
  });

  it('pipeline upload keeps the file; anything not emulated exits 2 and lists what is', async () => {
    await writeFile(join(dir, 'a', 'p.yml'), 'steps: []\n');
    expect((await agent(['pipeline', 'upload', 'p.yml'])).code).toBe(0);
    expect(await readFile(join(dir, 'state/uploads/001.yml'), 'utf8')).toBe('steps: []\n');
    for (const argv of [
      ['step', 'update', 'label', 'x'],
      ['meta-data', 'keys'],
      ['annotate', 'x', '--priority', '3'],
      ['artifact', 'upload', 'x', 's3://bucket'],
    ]) {
      const r = await agent(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toContain('Emulated here:');
    }
  });

  it('refuses to run outside a local job', async () => {
    const code = await agentMain({ argv: ['meta-data', 'get', 'k'], env: {}, cwd: dir, stdin: async () => '', stdout: () => undefined, stderr: () => undefined });
    expect(code).toBe(2);
  });
});
