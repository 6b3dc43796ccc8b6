import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('the committed engex-pipeline bin shim', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is what package.json links, executable, so npm links it before anything is built', async () => {
    const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ 'engex-pipeline': './bin/engex-pipeline.cjs' });
    expect((await stat(join(pkgDir, 'bin/engex-pipeline.cjs'))).mode & 0o111).not.toBe(0);
    expect(await readFile(join(pkgDir, 'bin/engex-pipeline.cjs'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('says how to build when dist/ is missing, and runs the bundle with its arguments once built', async () => {
    dir = await mkdtemp(join(tmpdir(), 'engex-shim-'));
    await mkdir(join(dir, 'bin'));
    await copyFile(join(pkgDir, 'bin/engex-pipeline.cjs'), join(dir, 'bin/engex-pipeline.cjs'));
    const missing = spawnSync(process.execPath, [join(dir, 'bin/engex-pipeline.cjs'), '--help'], { encoding: 'utf8' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('engex-pipeline: not built yet');
    expect(missing.stderr).toContain('Run `npm run build` at the workspace root, or `npx nx run @engex/pipeline-generator:build`.');
    await mkdir(join(dir, 'dist'));
    await writeFile(join(dir, 'dist/engex-pipeline.cjs'), "process.stdout.write('bundle ' + process.argv.slice(2).join(' '));\n");
    const built = spawnSync(process.execPath, [join(dir, 'bin/engex-pipeline.cjs'), '--version', 'x'], { encoding: 'utf8' });
    expect(built).toMatchObject({ status: 0, stdout: 'bundle --version x' });
  });
});
