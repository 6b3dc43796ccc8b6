import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { trustedBranchesFor, type WorkspaceConfig } from '@engex/workspace-config';
import { LOCAL_PIPELINE_SLUG } from './local-env.js';
import { LocalSetupError } from './preflight.js';

/**
 * The agent guard on the local trusted queues, installed as a fleet installs it: the shipped
 * `pre-command` hook (libs/ci-lib/agent-hooks/pre-command) with its fixed host paths pointed at
 * this run's host folder, the engex-ci bundle of the workspace that runs `run --local` (never a
 * job's checkout) and one host policy per queue, written outside every checkout with mode 0644.
 * Locally the policy has no `api`: no Buildkite to ask, so approvals stay with `--approve`.
 */

/** The hook as shipped, with the lines that name host paths: each must be there to be replaced. */
const HOST_LINES = {
  engexCi: /^ENGEX_CI=.*$/m,
  policy: /^POLICY=.*$/m,
  path: /^ {2}PATH=\/usr\/local\/bin:\/usr\/bin:\/bin \\$/m,
} as const;

export interface GuardHooksInput {
  /** The workspace that runs `run --local`: its built engex-ci and shipped hook are the host's. */
  root: string;
  /** Host folder of this run (outside every job's checkout). */
  hostDir: string;
  config: Pick<WorkspaceConfig, 'trustedBranches' | 'deployTargets'>;
  defaultBranch: string;
  /** BUILDKITE_REPO of the local jobs. */
  repository: string;
  /** The trusted queues: each gets the hook and a policy of its own. */
  queues: readonly string[];
  /** The node that runs the hook's engex-ci (the hook clears PATH to system folders). */
  node: string;
}

/**
 * Writes each trusted queue's pre-command hook and host policy; returns queue → hook path, or
 * `undefined` when the workspace ships no guard (not an engex workspace: nothing to install).
 */
export async function writeGuardHooks(input: GuardHooksInput): Promise<Record<string, string> | undefined> {
  const engexCi = join(input.root, 'libs/ci-lib/dist/engex-ci.cjs');
  const shipped = join(input.root, 'libs/ci-lib/agent-hooks/pre-command');
  const text = await readFile(shipped, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  await readFile(engexCi).catch(() => {
    throw new LocalSetupError(`${engexCi} is missing: the trusted queues' agent guard runs it. Build it: npx nx run @engex/ci-lib:build`);
  });
  for (const [name, line] of Object.entries(HOST_LINES)) {
    if (!line.test(text)) throw new LocalSetupError(`${shipped} no longer has its ${name} line; update agent-guard-hooks.ts with it.`);
  }
  const hooks: Record<string, string> = {};
  for (const queue of [...new Set(input.queues)]) {
    const dir = join(input.hostDir, queue);
    const policy = join(dir, 'engex-policy.json');
    const hook = join(dir, 'hooks', 'pre-command');
    await mkdir(dirname(hook), { recursive: true });
    const rules = {
      $comment: `run --local: the host policy of the ${queue} queue`,
      queue,
      organization: LOCAL_PIPELINE_SLUG,
      repositories: [input.repository],
      pipelines: [LOCAL_PIPELINE_SLUG],
      branches: trustedBranchesFor(input.config, input.defaultBranch),
      approvals: [],
    };
    await writeFile(policy, `${JSON.stringify(rules, null, 2)}\n`, { mode: 0o644 });
    await chmod(policy, 0o644);
    const local = text
      .replace(HOST_LINES.engexCi, `ENGEX_CI=${sh(engexCi)}`)
      .replace(HOST_LINES.policy, `POLICY=${sh(policy)}`)
      .replace(HOST_LINES.path, `  PATH=${sh(`${dirname(input.node)}:/usr/local/bin:/usr/bin:/bin`)} \\`);
    await writeFile(hook, local, { mode: 0o755 });
    hooks[queue] = hook;
  }
  return hooks;
}

const sh = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
