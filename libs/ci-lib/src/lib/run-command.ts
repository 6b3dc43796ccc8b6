import { spawn } from 'node:child_process';
import { CommandFailedError } from './errors.js';
import { onInterrupt } from './exit-cleanup.js';
import { redact } from './redact.js';
import type { Secret } from './secret.js';

export interface RunCommandOptions {
  cwd?: string;
  /** The full environment of the child (default: inherited). */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then closed: how passwords reach `docker login --password-stdin`. */
  input?: Secret | string;
  /** Live output (already redacted), e.g. docker build progress to stderr. */
  onOutput?: (text: string) => void;
  /** Values scrubbed from every captured or streamed byte, and from error messages. */
  secrets?: readonly Secret[];
  /** Return the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  /**
   * A process deadline: at `ms` the child and everything it started (it runs in its own process
   * group, e.g. git's remote helpers) get SIGKILL, and the promise rejects with `error(waitedMs)`.
   */
  deadline?: { ms: number; error: (waitedMs: number) => Error };
}

export interface RunCommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

const TAIL = 4000;

/**
 * Runs a program with an argument array (no shell, so nothing in an argument is ever
 * interpreted) and collects its output. Non-zero exit throws CommandFailedError with the tail of
 * the output, so failures name what the tool said.
 */
export function runCommand(command: string, args: readonly string[], options: RunCommandOptions = {}): Promise<RunCommandResult> {
  const input = options.input;
  const secrets = typeof input === 'object' ? [...(options.secrets ?? []), input] : (options.secrets ?? []);
  const known = secrets.map((s) => s.reveal());
  // Errors name the tool and its subcommand, past leading `-c key=value` options (git).
  let sub = 0;
  while (command === 'git' && args[sub] === '-c') sub += 2;
  const label = `${command} ${args[sub] ?? ''}`.trim();
  const scrub = (text: string): string => redact(text, { known });
  return new Promise((resolve, reject) => {
    const deadline = options.deadline;
    const started = Date.now();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      detached: deadline !== undefined,
    });
    let settled = false;
    // The whole group, even after git itself exited: its remote helper may still hold the socket.
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    };
    const unregister = deadline ? onInterrupt(killGroup) : () => {};
    let expired: Error | undefined;
    let grace: NodeJS.Timeout | undefined;
    const timer = deadline
      ? setTimeout(() => {
          expired = deadline.error(Date.now() - started);
          killGroup();
          // Wait for the exit so the caller's cleanup (rm of a clone) does not race a dying git; a
          // grandchild that kept a pipe open must not hold us, hence the short grace.
          grace = setTimeout(() => settle(() => reject(expired)), 2000);
        }, deadline.ms)
      : undefined;
    const settle = (fn: () => void): void => {
      clearTimeout(timer);
      clearTimeout(grace);
      unregister();
      if (settled) return;
      settled = true;
      fn();
    };
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      options.onOutput?.(scrub(d));
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      options.onOutput?.(scrub(d));
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'ENOENT' ? ` (is ${command} installed and on PATH?)` : '';
      settle(() => reject(new CommandFailedError(label, null, scrub(`${error.message}${hint}`), { cause: error })));
    });
    child.on('close', (code) => {
      const result = { exitCode: code, stdout: scrub(stdout), stderr: scrub(stderr) };
      if (expired) return settle(() => reject(expired));
      settle(() => {
        if (code === 0 || options.allowFailure) resolve(result);
        else {
          const both = `${result.stderr}\n${result.stdout}`.trim();
          reject(new CommandFailedError(label, code, both.length > TAIL ? `...${both.slice(-TAIL)}` : both));
        }
      });
    });
    child.stdin.on('error', () => {
      // The child may exit before reading stdin (e.g. docker login failing early); its exit code tells.
    });
    if (input !== undefined) child.stdin.end(typeof input === 'string' ? input : input.reveal());
    else child.stdin.end();
  });
}
