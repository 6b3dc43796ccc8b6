import { main, type CliIo } from '../cli.js';

// For ci-lib's own specs only (it imports the whole CLI, so the ./testing entry does not export it).

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** engex-ci's `main()` in this process, with its stdout and stderr captured. */
export async function runCli(argv: readonly string[], io: Omit<CliIo, 'stdout' | 'stderr'>): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { ...io, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}
