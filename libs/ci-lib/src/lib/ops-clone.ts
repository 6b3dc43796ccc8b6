import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { ManifestError } from './errors.js';
import { KustomizationTooLargeError, MAX_KUSTOMIZATION_BYTES, pickKustomizationFile } from './kustomization-file.js';
import { redact } from './redact.js';

// A clone of an ops repo, shared by deploy bump (which edits it) and status (which reads it):
// git's own stall limits, the host for messages, and paths that must stay inside the clone.

/** Git aborts a transfer slower than this many bytes/s for `lowSpeedTime` (curl's low-speed limit). */
const LOW_SPEED_LIMIT = 1000;

/** Pure: the host a git URL talks to, for messages (`https://u:t@h/x` → `h`, `git@h:x` → `h`, a path stays a path). */
export function gitRemoteHost(repo: string): string {
  try {
    const url = new URL(repo);
    if (url.host) return url.host;
  } catch {
    // Not a URL: scp-like or a local path.
  }
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)/.exec(repo);
  return scp ? scp[1]! : redact(repo);
}

/**
 * Pure: `-c` options that make git itself give up on a stalled HTTP transfer (30 s under 1 KB/s).
 * Never shorter than the deadline's whole seconds, so with a short deadline ours fires first and
 * the message names the operation, host and time.
 */
export function gitLowSpeedArgs(deadlineMs: number): string[] {
  const seconds = Math.max(1, Math.min(30, Math.ceil(deadlineMs / 1000)));
  return ['-c', `http.lowSpeedLimit=${LOW_SPEED_LIMIT}`, '-c', `http.lowSpeedTime=${seconds}`];
}

/** The file's text, refused before reading when it is larger than a kustomization can be. */
export async function readBounded(file: string, path: string): Promise<string> {
  const { size } = await stat(file);
  if (size > MAX_KUSTOMIZATION_BYTES) throw new KustomizationTooLargeError(path, size);
  return readFile(file, 'utf8');
}

/** A path of the clone that resolves (through symlinks) outside it, or into its .git. */
export class OutsideCloneError extends ManifestError {
  constructor(readonly path: string) {
    super(
      `${path} is a symlink that resolves outside the ops repo clone (or into its .git); engex-ci edits only files of the repository. Replace the symlink with the file, or point deployTargets[].overlay at the real overlay.`,
    );
  }
}

/** `rel` resolved through symlinks, as a path relative to the clone; refused when it leaves the clone. */
export async function insideClone(work: string, rel: string): Promise<string> {
  const root = await realpath(work);
  const real = await realpath(join(work, rel));
  const inside = relative(root, real);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside) || inside === '.git' || inside.startsWith(`.git${sep}`)) throw new OutsideCloneError(rel);
  return inside.split(sep).join('/');
}

/**
 * The kustomization of `overlay` in the clone, under whichever of kustomize's names it has, and
 * the directory to render. Symlinks are followed only while they stay inside the clone: the edit
 * and `git add` go to the real file, and anything outside is refused before it is read.
 */
export async function resolveKustomization(work: string, overlay: string, repo: string, branch: string): Promise<{ path: string; renderDir: string }> {
  let entries: string[];
  try {
    await insideClone(work, overlay);
    entries = await readdir(join(work, overlay));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A path to the file itself names the overlay by its kustomization.
    if (code === 'ENOTDIR') return { path: await insideClone(work, overlay), renderDir: posix.dirname(overlay) };
    if (code === 'ENOENT') throw new ManifestError(`${overlay} does not exist in ${repo} (branch ${branch}); create the overlay first or fix deployTargets`);
    throw error;
  }
  const name = pickKustomizationFile(overlay, entries);
  return { path: await insideClone(work, posix.join(overlay, name)), renderDir: overlay };
}
