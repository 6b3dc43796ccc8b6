import { describe, expect, it } from 'vitest';
import { runCommand } from './run-command.js';
import { Secret } from './secret.js';

class TooLong extends Error {}

describe('runCommand', () => {
  // Without the process-group kill, 'close' would wait for the 30 s grandchild: the bound below is
  // that sleep, not a guess at how fast a loaded machine is.
  it('kills the child and what it started at the deadline', { timeout: 60_000 }, async () => {
    const started = Date.now();
    // The grandchild holds stdout open: without a process-group kill, 'close' would wait for it.
    const error = await runCommand('sh', ['-c', 'sleep 30 & wait'], { deadline: { ms: 400, error: (waited) => new TooLong(`after ${waited}`) } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooLong);
    expect(Date.now() - started).toBeLessThan(30_000);
    const left = await runCommand('pgrep', ['-f', '^sleep 30$'], { allowFailure: true });
    expect(left.stdout.trim()).toBe('');
  });

  it('finishes normally within a deadline', async () => {
    expect((await runCommand('sh', ['-c', 'echo ok'], { deadline: { ms: 5000, error: () => new TooLong() } })).stdout).toBe('ok\n');
  });

  it('redacts known secrets and credential shapes in output and errors', async () => {
    const error = await runCommand('sh', ['-c', 'echo "push https://u:tok3n@h/x.git failed for hunter2-secret" >&2; exit 3'], { secrets: [new Secret('hunter2-secret')] }).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toBe('sh -c failed (exit 3):\npush https://***@h/x.git failed for ***');
  });

  it('names the subcommand past git -c options', async () => {
    const error = await runCommand('git', ['-c', 'http.lowSpeedTime=1', 'no-such-subcommand']).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^git no-such-subcommand failed \(exit 1\)/);
  });
});
