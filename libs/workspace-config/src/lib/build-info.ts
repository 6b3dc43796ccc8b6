import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What `--version` prints: the package version and the commit the executable was built from. */
export interface BuildInfo {
  name: string;
  version: string;
  /** Full sha; undefined outside a git checkout (a copied bundle). */
  commit?: string;
}

/** Pure: `engex-ci 0.0.0 (commit 0123…)`. */
export function renderVersion(info: BuildInfo): string {
  return `${info.name} ${info.version} (commit ${info.commit ?? 'unknown: not run from a git checkout'})\n`;
}

/**
 * Reads the version from `<packageDir>/package.json` and the commit from git at run time. Read,
 * not injected with esbuild `define`: Nx caches the bundle across commits that do not touch its
 * inputs, so a baked-in sha would name an older commit than the checkout it runs in.
 */
export function readBuildInfo(name: string, packageDir: string): BuildInfo {
  let version = 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // A bundle copied without its package.json still answers --version.
  }
  let commit: string | undefined;
  try {
    const out = execFileSync('git', ['-C', packageDir, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    if (/^[0-9a-f]{40}$/.test(out)) commit = out;
  } catch {
    // Not a checkout, or no git: reported as unknown.
  }
  return { name, version, commit };
}
