import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCommand } from '../lib/run-command.js';
import { hermeticEnv } from './temp-workspace.js';

/** This repo's Nx binary (nx 23.2.1): the real client of the remote cache. */
export const NX_BIN = join(dirname(createRequire(import.meta.url).resolve('nx/package.json')), 'dist/bin/nx.js');

export interface NxCacheWorkspace {
  root: string;
  projects: readonly string[];
  /**
   * One CI agent: its own empty local cache, the remote cache at `url` (none when undefined), then
   * `nx run-many -t make`. Never hangs the test: the process group is killed at `deadlineMs`.
   */
  agent(name: string, remote: { url: string; token?: string } | undefined, deadlineMs?: number): Promise<{ exitCode: number | 'killed'; output: string; ms: number }>;
  /** What each project's output file holds now (undefined when missing). */
  outputs(): Promise<Record<string, string | undefined>>;
  /** How many times each project's command really ran, across agents. */
  runs(): Promise<Record<string, number>>;
  remove(): Promise<void>;
}

/**
 * A temp Nx workspace with cacheable `make` tasks, for driving Nx's own remote-cache client. Each
 * task counts its runs outside its outputs, so a restore cannot fake "did not run".
 */
export async function createNxCacheWorkspace(projects: readonly string[] = ['a', 'b']): Promise<NxCacheWorkspace> {
  const root = await mkdtemp(join(tmpdir(), 'engex-nx-remote-'));
  const files: Record<string, string> = {
    'nx.json': JSON.stringify({ neverConnectToCloud: true, targetDefaults: { make: { cache: true } } }),
    'package.json': JSON.stringify({ name: 'remote-cache-ws', private: true }),
  };
  for (const p of projects) {
    files[`libs/${p}/src.txt`] = `input of ${p}\n`;
    files[`libs/${p}/project.json`] = JSON.stringify({
      name: p,
      targets: {
        make: {
          executor: 'nx:run-commands',
          inputs: ['{projectRoot}/src.txt'],
          outputs: ['{projectRoot}/out'],
          options: {
            command: `node -e "const f=require('fs');f.appendFileSync('runs-${p}.log','ran\\n');f.mkdirSync('libs/${p}/out',{recursive:true});f.writeFileSync('libs/${p}/out/result.txt','made from '+f.readFileSync('libs/${p}/src.txt','utf8'));console.log('MAKE ${p} RAN')"`,
          },
        },
      },
    });
  }
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  await mkdir(join(root, 'node_modules'));
  await symlink(dirname(dirname(dirname(NX_BIN))), join(root, 'node_modules/nx'), 'dir');
  const readOr = (path: string) => readFile(join(root, path), 'utf8').catch(() => undefined);
  return {
    root,
    projects,
    async agent(name, remote, deadlineMs = 60_000) {
      for (const p of projects) await rm(join(root, `libs/${p}/out`), { recursive: true, force: true });
      const env = hermeticEnv({
        NX_DAEMON: 'false',
        NX_CACHE_DIRECTORY: join(root, `.agent-cache-${name}`),
        NX_WORKSPACE_DATA_DIRECTORY: join(root, `.agent-data-${name}`),
        NX_NO_CLOUD: 'true',
        NX_TUI: 'false',
        ...(remote ? { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: remote.url } : {}),
        ...(remote?.token ? { NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: remote.token } : {}),
      });
      const started = performance.now();
      const result = await runCommand(process.execPath, [NX_BIN, 'run-many', '-t', 'make', '--outputStyle=static'], {
        cwd: root,
        env,
        allowFailure: true,
        deadline: { ms: deadlineMs, error: (ms) => new Error(`nx did not finish within ${ms} ms`) },
      }).then(
        (r) => ({ exitCode: r.exitCode as number | 'killed', output: r.stdout + r.stderr }),
        (error: Error) => ({ exitCode: 'killed' as const, output: error.message }),
      );
      return { ...result, ms: Math.round(performance.now() - started) };
    },
    async outputs() {
      return Object.fromEntries(await Promise.all(projects.map(async (p) => [p, await readOr(`libs/${p}/out/result.txt`)] as const)));
    },
    async runs() {
      return Object.fromEntries(await Promise.all(projects.map(async (p) => [p, ((await readOr(`runs-${p}.log`)) ?? '').split('\n').filter(Boolean).length] as const)));
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
