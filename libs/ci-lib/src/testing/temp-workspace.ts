import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCommand } from '../lib/run-command.js';

export interface TempWorkspace {
  root: string;
  /** HEAD of the workspace when `git: true`. */
  head?: string;
  cleanup(): Promise<void>;
}

export interface TempWorkspaceOptions {
  /**
   * Contents of engex.config.json. Default `{}` (every default applies); `null` writes no file,
   * which engex refuses.
   */
  config?: unknown;
  /** Extra files, path → content. */
  files?: Record<string, string>;
  /** Workspace packages: folder (e.g. apps/halow) → its package.json. */
  packages?: Record<string, unknown>;
  /** Commit everything into a fresh git repo. */
  git?: boolean;
}

/** A minimal Nx-shaped workspace in a temp dir (nx.json, npm workspaces, packages), for CLI tests. */
export async function createTempWorkspace(options: TempWorkspaceOptions = {}): Promise<TempWorkspace> {
  const root = await mkdtemp(join(tmpdir(), 'engex-ws-'));
  const files: Record<string, string> = {
    'nx.json': '{}\n',
    'package.json': `${JSON.stringify({ name: '@engex/source', private: true, workspaces: ['apps/*', 'libs/*'] }, null, 2)}\n`,
    ...options.files,
  };
  if (options.config !== null) files['engex.config.json'] = `${JSON.stringify(options.config ?? {}, null, 2)}\n`;
  for (const [folder, pkg] of Object.entries(options.packages ?? {})) files[`${folder}/package.json`] = `${JSON.stringify(pkg, null, 2)}\n`;
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  let head: string | undefined;
  if (options.git) {
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
    await runCommand('git', ['init', '--quiet', '--initial-branch=main'], { cwd: root, env });
    await runCommand('git', ['add', '.'], { cwd: root, env });
    await runCommand('git', ['commit', '--quiet', '-m', 'init'], { cwd: root, env });
    head = (await runCommand('git', ['rev-parse', 'HEAD'], { cwd: root, env })).stdout.trim();
  }
  return { root, head: head || undefined, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/**
 * What `image build` needs beside a bundle to write its SBOM: the esbuild metafile of a bundle
 * with one npm package in it, and a lockfile that knows that package.
 */
export function bundleFiles(folder: string): Record<string, string> {
  const metafile = { inputs: {}, outputs: { [`${folder}/dist/main.cjs`]: { inputs: { 'node_modules/tiny/index.js': { bytesInOutput: 12 } } } } };
  const lockfile = { lockfileVersion: 3, packages: { '': {}, 'node_modules/tiny': { version: '1.0.0', license: 'MIT' } } };
  return { [`${folder}/dist/meta.json`]: JSON.stringify(metafile), 'package-lock.json': JSON.stringify(lockfile) };
}

/** A service package.json the way halow's looks. */
export function servicePackage(name: string, engex: Record<string, unknown> = {}): unknown {
  return { name, version: '0.0.0', private: true, nx: { tags: ['engex:service'], metadata: { engex } } };
}

/** Only what child processes need, so the host's BUILDKITE_* never leak into a test. */
export function hermeticEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = ['PATH', 'HOME', 'DOCKER_HOST', 'DOCKER_CONFIG', 'TMPDIR'];
  const env: Record<string, string> = {};
  for (const key of keep) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  return { ...env, ...extra };
}
