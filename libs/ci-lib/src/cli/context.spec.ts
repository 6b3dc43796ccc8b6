import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../lib/errors.js';
import { createTempWorkspace, hermeticEnv, servicePackage, type TempWorkspace } from '../testing/temp-workspace.js';
import { createCommandContext, type CliIo } from './context.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

const io = (cwd: string, env: Record<string, string> = hermeticEnv()): CliIo => ({ stdout: () => {}, stderr: () => {}, env, cwd, now: () => new Date(0) });

let ws: TempWorkspace;
let outside: string;
beforeAll(async () => {
  ws = await createTempWorkspace({ packages: { 'apps/halow': servicePackage('@engex/halow') } });
  outside = await mkdtemp(join(tmpdir(), 'engex-no-workspace-'));
});
afterAll(async () => {
  await ws?.cleanup();
  await rm(outside, { recursive: true, force: true });
});

describe('CommandContext', () => {
  it('looks for nothing until asked: outside any workspace it resolves paths, and fails only on root()', () => {
    const ctx = createCommandContext(io(outside, hermeticEnv({ BUILDKITE_COMMIT: 'bad' })), undefined);
    expect(ctx.path('a/b.json')).toBe(join(outside, 'a/b.json'));
    expect(() => ctx.root()).toThrow(/nx\.json/);
    // The bad BUILDKITE_COMMIT is reported by the first command that reads the build context.
    expect(() => ctx.build()).toThrow(/BUILDKITE_COMMIT/);
  });

  it('reads the config once per invocation, however many handlers ask', async () => {
    const ctx = createCommandContext(io(join(ws.root, 'apps/halow'), hermeticEnv({ BUILDKITE_COMMIT: SHA })), undefined);
    const first = await ctx.config();
    // A change on disk after the first read is not seen: the invocation works from one config.
    await writeFile(join(ws.root, 'engex.config.json'), '{ not json');
    expect(await ctx.config()).toBe(first);
    expect((await ctx.service('halow')).project).toBe('@engex/halow');
    expect(await ctx.commit()).toBe(SHA);
    expect(ctx.deadlines()).toBe(ctx.deadlines());
  });

  it('checks --workspace against the caller cwd', () => {
    const ctx = createCommandContext(io(outside), 'nowhere');
    expect(() => ctx.root()).toThrow(UsageError);
    expect(() => ctx.root()).toThrow(`--workspace nowhere: no nx.json in ${join(outside, 'nowhere')}`);
    expect(createCommandContext(io(outside), ws.root).root()).toBe(ws.root);
  });
});
