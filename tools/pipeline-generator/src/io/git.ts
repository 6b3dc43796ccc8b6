import { execFile } from 'node:child_process';
import { DEFAULT_DEADLINES, gitLowSpeedArgs } from '@engex/ci-lib';
import { GitError } from '../core/errors.js';

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** The few git operations base selection needs; every ref is passed as one argv token. */
export class Git {
  constructor(
    readonly cwd: string,
    private readonly env: Readonly<Record<string, string | undefined>>,
    /**
     * Deadline of one network operation (fetch, deepen), in ms: the process is killed then and the
     * fetch counts as failed (base selection then runs more, never less). Default ci-lib's git
     * deadline (120 s, ENGEX_CI_GIT_DEADLINE, read by the caller).
     */
    private readonly networkDeadlineMs: number = DEFAULT_DEADLINES.gitMs,
  ) {}

  /** Runs git; never throws for a non-zero exit. `timeoutMs` kills it (then `ok` is false). */
  tryRun(args: readonly string[], timeoutMs?: number): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        [...args],
        {
          cwd: this.cwd,
          // Never wait on a credential prompt inside CI.
          env: { ...this.env, GIT_TERMINAL_PROMPT: '0' },
          maxBuffer: 64 * 1024 * 1024,
          encoding: 'utf8',
          ...(timeoutMs !== undefined ? { timeout: timeoutMs, killSignal: 'SIGKILL' as const } : {}),
        },
        (error, stdout, stderr) => {
          if (error && typeof (error as NodeJS.ErrnoException).code === 'string') {
            reject(new GitError(args, (error as Error).message, { cause: error }));
            return;
          }
          resolve({ ok: !error, stdout, stderr });
        },
      );
    });
  }

  async run(args: readonly string[]): Promise<string> {
    const r = await this.tryRun(args);
    if (!r.ok) throw new GitError(args, r.stderr);
    return r.stdout;
  }

  /** The commit a ref names, or undefined when it names none here. */
  async resolveCommit(ref: string): Promise<string | undefined> {
    if (!isSafeRef(ref)) return undefined;
    const r = await this.tryRun(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
    return r.ok ? r.stdout.trim() : undefined;
  }

  async isShallow(): Promise<boolean> {
    return (await this.run(['rev-parse', '--is-shallow-repository'])).trim() === 'true';
  }

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const r = await this.tryRun(['merge-base', '--end-of-options', a, b]);
    return r.ok ? r.stdout.trim() : undefined;
  }

  async isAncestor(ancestor: string, of: string): Promise<boolean> {
    return (await this.tryRun(['merge-base', '--is-ancestor', '--end-of-options', ancestor, of])).ok;
  }

  async hasRemote(name: string): Promise<boolean> {
    return (await this.tryRun(['remote', 'get-url', '--', name])).ok;
  }

  /** `git fetch` of explicit refspecs; false when the remote refuses or lacks them. */
  async fetch(remote: string, refspecs: readonly string[], extra: readonly string[] = []): Promise<boolean> {
    return (await this.network(['fetch', '--quiet', '--no-tags', ...extra, remote, ...refspecs])).ok;
  }

  /**
   * The exact list of changed paths, relative to the workspace (`cwd`): `base...head`, or with no
   * head the working tree (committed since base, uncommitted and untracked, as `nx affected`).
   * NUL-separated (`-z`), so names git would quote (non-ASCII, tab, `"`, newline) arrive as they
   * are on disk; Nx's own `--name-only` reading drops them.
   */
  async changedFiles(base: string, head?: string): Promise<string[]> {
    const diff = ['diff', '-z', '--name-only', '--no-renames', '--relative'];
    const lists =
      head !== undefined
        ? [await this.run([...diff, `${base}...${head}`, '--'])]
        : [await this.run([...diff, `${base}...HEAD`, '--']), await this.run([...diff, 'HEAD', '--']), await this.run(['ls-files', '-z', '--others', '--exclude-standard'])];
    return [...new Set(lists.flatMap((out) => out.split('\0').filter((f) => f !== '')))];
  }

  /** Fetches `depth` more commits of history behind every shallow boundary. */
  async deepen(remote: string, depth: number): Promise<boolean> {
    return (await this.network(['fetch', '--quiet', '--no-tags', `--deepen=${depth}`, remote])).ok;
  }

  /** A fetch against a remote: low-speed limits so git gives up on a stalled transfer, and a deadline. */
  private network(args: readonly string[]): Promise<GitResult> {
    return this.tryRun([...gitLowSpeedArgs(this.networkDeadlineMs), ...args], this.networkDeadlineMs);
  }
}

/**
 * A ref is only ever handed to git as one argv token, after `--end-of-options` where git has it;
 * this still refuses what no branch, tag or sha looks like, so a hostile name resolves to nothing.
 */
export function isSafeRef(ref: string): boolean {
  return (
    ref.length > 0 &&
    ref.length <= 255 &&
    !ref.startsWith('-') &&
    // eslint-disable-next-line no-control-regex -- git check-ref-format refuses control characters.
    !/[\s\x00-\x1f\x7f~^:?*[\\]/.test(ref.replace(/[~^]\d*$/, '')) &&
    !ref.includes('..') &&
    !ref.includes('@{')
  );
}
