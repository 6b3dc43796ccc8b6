import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/temp-dir.js';
import { spawnLogged, StepSupervisor } from './supervisor.js';

describe('spawnLogged: a job command under its timeout', () => {
  it('ends a command past its timeout, and its delayed SIGKILL never reaches the next job', async () => {
    const dir = await tempDir('engex-supervisor-');
    const log = createWriteStream(join(dir, 'job.log'));
    const supervisor = new StepSupervisor();
    const options = { cwd: dir, env: { PATH: process.env['PATH'] ?? '' }, log, supervisor };
    const late = await spawnLogged(['sleep', '30'], { ...options, timeoutMs: 1, killAfterMs: 100 });
    expect([late.timedOut, late.code]).toEqual([true, 143]);
    // The next job starts at once and outlives the first one's SIGKILL delay.
    const next = await spawnLogged(['sh', '-c', 'sleep 1; echo done'], { ...options, timeoutMs: 60_000 });
    expect([next.timedOut, next.code, next.tail]).toEqual([false, 0, 'done\n']);
    await new Promise<void>((resolve) => log.end(resolve));
  });
});
