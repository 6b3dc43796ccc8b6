import { spawn, type ChildProcess } from 'node:child_process';
import type { WriteStream } from 'node:fs';

/** The process a job is running, so a signal handler can end its whole process group. */
export class StepSupervisor {
  private child: ChildProcess | undefined;
  interrupted = false;

  attach(child: ChildProcess): void {
    this.child = child;
  }

  detach(): void {
    this.child = undefined;
  }

  /**
   * Sends `signal` to the running command and everything it started (its process group). With
   * `only`, only while that command is still the one running: a delayed SIGKILL meant for a job
   * that already ended must not reach the next job's command.
   */
  kill(signal: NodeJS.Signals, only?: ChildProcess): void {
    if (only !== undefined && only !== this.child) return;
    const pid = this.child?.pid;
    if (pid === undefined || this.child?.exitCode !== null) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }

  interrupt(): void {
    this.interrupted = true;
    this.kill('SIGTERM');
    const child = this.child;
    if (child) setTimeout(() => this.kill('SIGKILL', child), 5000).unref();
  }
}

export interface SpawnResult {
  code: number;
  /** The last 8 KiB of its output, for the summary's one-line note. */
  tail: string;
  timedOut: boolean;
  interrupted: boolean;
}

export interface SpawnLoggedOptions {
  cwd: string;
  env: Record<string, string>;
  log: WriteStream;
  echo?: { write(chunk: string | Uint8Array): unknown };
  supervisor: StepSupervisor;
  /** Milliseconds until SIGTERM (then SIGKILL `killAfterMs` later): the step's `timeout_in_minutes`. */
  timeoutMs: number;
  /** From the timeout's SIGTERM to SIGKILL; default 10 s. */
  killAfterMs?: number;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Runs `argv` in its own process group, stdout and stderr into the job log, stdin empty. */
export function spawnLogged(argv: readonly string[], options: SpawnLoggedOptions): Promise<SpawnResult> {
  return new Promise((resolve) => {
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString()).slice(-8192);
      options.log.write(chunk);
      options.echo?.write(chunk);
    };
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    options.supervisor.attach(child);
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        options.supervisor.kill('SIGTERM', child);
        setTimeout(() => options.supervisor.kill('SIGKILL', child), options.killAfterMs ?? 10_000).unref();
      },
      Math.max(options.timeoutMs, 1),
    );
    child.on('error', (error: NodeJS.ErrnoException) => keep(Buffer.from(`[local] cannot start ${argv[0]}: ${error.message}\n`)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.supervisor.detach();
      resolve({ code: code ?? (signal ? 128 + (SIGNALS[signal] ?? 1) : 127), tail, timedOut, interrupted: options.supervisor.interrupted });
    });
  });
}
