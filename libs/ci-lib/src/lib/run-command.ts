import { spawn } from 'node:child_process';
import { CommandFailedError } from './errors.js';
import { redact, type Secret } from './secret.js';

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
  const scrub = (text: string): string => redact(text, secrets);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
    });
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
      reject(new CommandFailedError(`${command} ${args[0] ?? ''}`.trim(), null, `${error.message}${hint}`));
    });
    child.on('close', (code) => {
      const result = { exitCode: code, stdout: scrub(stdout), stderr: scrub(stderr) };
      if (code === 0 || options.allowFailure) resolve(result);
      else {
        const both = `${result.stderr}\n${result.stdout}`.trim();
        reject(new CommandFailedError(`${command} ${args[0] ?? ''}`.trim(), code, both.length > TAIL ? `...${both.slice(-TAIL)}` : both));
      }
    });
    child.stdin.on('error', () => {
      // The child may exit before reading stdin (e.g. docker login failing early); its exit code tells.
    });
    if (input !== undefined) child.stdin.end(typeof input === 'string' ? input : input.reveal());
    else child.stdin.end();
  });
}
