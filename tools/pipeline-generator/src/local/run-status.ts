import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { commandSteps, type Pipeline } from '../core/pipeline.js';

const execFileAsync = promisify(execFile);

/** The `engex-ci` argv the pipeline's steps use (local runs build that bundle in their setup step). */
export function engexCiBin(pipeline: Pipeline): readonly string[] | undefined {
  for (const step of commandSteps(pipeline)) {
    for (const c of step.commands) if (c.kind === 'engex-ci') return c.bin;
  }
  return undefined;
}

/**
 * `engex-ci status` against the local ops repos: what the run deployed where. It always exits 0
 * and reads each source under a deadline, so it never changes the run's result.
 */
export async function readStatus(bin: readonly string[], opsRepo: string, cwd: string, env: Record<string, string>): Promise<string> {
  const argv = [...bin, 'status', '--ops-repo', opsRepo];
  const heading = `\nStatus (${argv.slice(-4).join(' ')}):`;
  try {
    const { stdout } = await execFileAsync(argv[0] as string, argv.slice(1), { cwd, env, timeout: 60_000 });
    return `${heading}\n${stdout.trimEnd()}`;
  } catch (error) {
    return `${heading} could not run: ${(error as Error).message.split('\n')[0]}`;
  }
}
