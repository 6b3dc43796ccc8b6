import { realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { readEnv } from '@engex/workspace-config';
import { AGENT_POLICY_ENV, GuardRefusedError, checkBuild, parseAgentPolicy, planGuard, readJobFacts } from '../../../lib/agent-guard.js';
import { buildPath, buildkiteGet } from '../../../lib/buildkite-api.js';
import { UsageError } from '../../../lib/errors.js';
import { defineCommand } from '../../define-command.js';
import { AGENT_GUARD } from './command.js';

/** True when `path` is `dir` or inside it. */
function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

const real = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

/**
 * `engex-ci agent guard --policy <file>`: refuses (exit 1, reasons on stderr) a job that must not
 * run on this agent. The policy path is absolute, outside the job's checkout and not writable by
 * group or others, because the checkout is the job's branch and the job's env is its pipeline's.
 */
export const agentGuard = defineCommand(AGENT_GUARD, async (args, { io }) => {
  const given = args.policy ?? readEnv(io.env, AGENT_POLICY_ENV);
  if (given === undefined) throw new UsageError(`agent guard: give the host policy file with --policy <file> (or ${AGENT_POLICY_ENV}); see libs/ci-lib/README.md, "agent guard"`);
  if (!isAbsolute(given)) throw new UsageError(`agent guard: --policy ${JSON.stringify(given)} must be an absolute path on the agent host, never a file of the checkout`);
  const policyFile = real(given);
  const checkout = readEnv(io.env, 'BUILDKITE_BUILD_CHECKOUT_PATH');
  for (const dir of [checkout, io.cwd]) {
    if (dir !== undefined && inside(policyFile, real(dir))) {
      throw new GuardRefusedError([`the policy ${policyFile} is inside the job's checkout ${dir}: the branch under test would write its own rules`], 'this');
    }
  }
  let mode: number;
  try {
    mode = statSync(policyFile).mode;
  } catch (error) {
    throw new UsageError(`agent guard: cannot read the policy ${policyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if ((mode & 0o022) !== 0)
    throw new GuardRefusedError([`the policy ${policyFile} is writable by group or others (mode ${(mode & 0o777).toString(8)}): chmod 644 it, owned by root`], 'this');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(policyFile, 'utf8'));
  } catch (error) {
    throw new UsageError(`agent guard: the policy ${policyFile} is not valid JSON: ${(error as Error).message}`);
  }
  const policy = parseAgentPolicy(raw, policyFile);
  const job = readJobFacts(io.env);
  const { refusals, approvals } = planGuard(policy, job);
  if (refusals.length > 0) throw new GuardRefusedError(refusals, policy.queue);

  let checked = 'no API check configured';
  if (policy.api) {
    let token: string;
    try {
      token = (await readFile(policy.api.tokenFile, 'utf8')).trim();
    } catch (error) {
      throw new UsageError(`agent guard: cannot read the Buildkite API token file ${policy.api.tokenFile}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    const build = await buildkiteGet(buildPath(policy.organization, job.pipeline as string, job.buildNumber as number), {
      token,
      deadlineMs: policy.api.deadlineSeconds * 1000,
      baseUrl: policy.api.baseUrl,
      retry: io.retry,
    });
    const found = checkBuild(build, job, approvals);
    if (found.length > 0) throw new GuardRefusedError(found, policy.queue);
    checked =
      approvals.length > 0
        ? `Buildkite confirms the build and ${approvals.map((a) => `${a.block} unblocked${a.fourEyes ? ' by someone other than the author' : ''}`).join(', ')}`
        : 'Buildkite confirms the build';
  }
  io.stdout(
    `agent guard: allowed ${job.pipeline} build ${job.buildNumber ?? '?'} step ${job.stepKey ?? '(no key)'} on ${job.tag !== undefined ? `tag ${job.tag}` : `branch ${job.branch}`} (${policy.queue} queue; ${checked})\n`,
  );
  return 0;
});
