import { ConfigError, EXIT_CODES, Issues, errorKind, describeValue as describe, isRecord, matchesAny, readEnv, type Env } from '@engex/workspace-config';

/**
 * `engex-ci agent guard`: the boundary where the credentials are. It runs as the Buildkite
 * `pre-command` hook of the trusted and deploy queues, from an engex-ci installed on the agent
 * host, and decides from a policy file on that host (never from the checkout, which the job's
 * branch controls) whether this job may run there. The pipeline YAML is the branch's own output
 * (its generator can be rewritten), so nothing in it is trusted here.
 */

/** Where the hook looks for the policy when `--policy` is not given. */
export const AGENT_POLICY_ENV = 'ENGEX_AGENT_POLICY';

export interface ApprovalRule {
  /** Branch globs whose jobs need the approval (picomatch, as the generator's deploy targets). */
  branches: string[];
  /** Step-key globs of the jobs that need it, e.g. `*:deploy-production`. */
  steps: string[];
  /**
   * The block step that must be unblocked: the job's key with its last `:`-part replaced by this,
   * e.g. `acme-api:deploy-production` → `acme-api:approve-production` (the generator's keys).
   */
  block: string;
  /** Unblocked by someone other than the commit's author and the build's creator. Default true. */
  fourEyes: boolean;
}

export interface AgentPolicy {
  /** Shown in messages: which queue's policy refused, e.g. `deploy`. */
  queue: string;
  organization: string;
  /** Exact `BUILDKITE_REPO` values allowed (the clone URLs of your repository). */
  repositories: string[];
  /** Pipeline slugs (globs). */
  pipelines: string[];
  /** Branch globs (a tag build is checked by its tag). */
  branches: string[];
  /** Step-key globs allowed on this queue; absent: any key. A job without a key is refused when set. */
  steps?: string[];
  approvals: ApprovalRule[];
  /** Buildkite's REST API, to check the build itself and its approvals. Required with approvals. */
  api?: {
    /** A file on the host holding a token with `read_builds` only. */
    tokenFile: string;
    /** Default https://api.buildkite.com. */
    baseUrl?: string;
    /** Default 20. */
    deadlineSeconds: number;
  };
}

const POLICY_KEYS = ['$comment', 'queue', 'organization', 'repositories', 'pipelines', 'branches', 'steps', 'approvals', 'api'];

/** Validates the host policy; every problem with its path. */
export function parseAgentPolicy(raw: unknown, file: string): AgentPolicy {
  const issues = new Issues(file);
  if (!isRecord(raw)) {
    issues.add('', `expected a JSON object, got ${describe(raw)}`);
    throw new ConfigError(issues.list, { hint: POLICY_HINT });
  }
  for (const key of Object.keys(raw)) if (!POLICY_KEYS.includes(key)) issues.add(key, `unknown key; allowed keys are ${POLICY_KEYS.join(', ')}`);
  const text = (value: unknown, path: string): string => {
    if (typeof value === 'string' && value.length > 0 && !/[\s]/.test(value)) return value;
    issues.add(path, `expected a non-empty string without spaces, got ${describe(value)}`);
    return '';
  };
  const list = (value: unknown, path: string, required: boolean): string[] | undefined => {
    if (value === undefined && !required) return undefined;
    if (!Array.isArray(value) || value.length === 0) {
      issues.add(path, `expected a non-empty array of strings, got ${describe(value)}`);
      return [];
    }
    return value.map((v: unknown, i) => text(v, `${path}[${i}]`));
  };
  const approvals = (raw['approvals'] === undefined ? [] : Array.isArray(raw['approvals']) ? raw['approvals'] : (issues.add('approvals', 'expected an array'), [])) as unknown[];
  const rules = approvals.map((entry, i): ApprovalRule => {
    const at = `approvals[${i}]`;
    if (!isRecord(entry)) {
      issues.add(at, `expected { branches, steps, block }, got ${describe(entry)}`);
      return { branches: [], steps: [], block: '', fourEyes: true };
    }
    for (const key of Object.keys(entry))
      if (!['branches', 'steps', 'block', 'fourEyes'].includes(key)) issues.add(`${at}.${key}`, 'unknown key; allowed keys are branches, steps, block, fourEyes');
    const fourEyes = entry['fourEyes'] ?? true;
    if (typeof fourEyes !== 'boolean') issues.add(`${at}.fourEyes`, `expected true or false, got ${describe(fourEyes)}`);
    return {
      branches: list(entry['branches'], `${at}.branches`, true) ?? [],
      steps: list(entry['steps'], `${at}.steps`, true) ?? [],
      block: text(entry['block'], `${at}.block`),
      fourEyes: fourEyes !== false,
    };
  });
  let api: AgentPolicy['api'];
  if (raw['api'] !== undefined) {
    const a = raw['api'];
    if (!isRecord(a)) issues.add('api', `expected { tokenFile, baseUrl?, deadlineSeconds? }, got ${describe(a)}`);
    else {
      for (const key of Object.keys(a))
        if (!['tokenFile', 'baseUrl', 'deadlineSeconds'].includes(key)) issues.add(`api.${key}`, 'unknown key; allowed keys are tokenFile, baseUrl, deadlineSeconds');
      const deadline = a['deadlineSeconds'] ?? 20;
      if (typeof deadline !== 'number' || !(deadline > 0 && deadline <= 300))
        issues.add('api.deadlineSeconds', `expected a number of seconds from 1 to 300, got ${describe(deadline)}`);
      const baseUrl = a['baseUrl'];
      if (baseUrl !== undefined && (typeof baseUrl !== 'string' || !/^https?:\/\/[^\s/]+\/?$/.test(baseUrl)))
        issues.add('api.baseUrl', `expected an http(s) origin such as https://api.buildkite.com, got ${describe(baseUrl)}`);
      api = {
        tokenFile: text(a['tokenFile'], 'api.tokenFile'),
        baseUrl: typeof baseUrl === 'string' ? baseUrl : undefined,
        deadlineSeconds: typeof deadline === 'number' ? deadline : 20,
      };
    }
  }
  if (rules.length > 0 && api === undefined) issues.add('api', 'is required when approvals are set: the guard asks Buildkite whether the block step was unblocked');
  const steps = list(raw['steps'], 'steps', false);
  const policy: AgentPolicy = {
    queue: text(raw['queue'], 'queue'),
    organization: text(raw['organization'], 'organization'),
    repositories: list(raw['repositories'], 'repositories', true) ?? [],
    pipelines: list(raw['pipelines'], 'pipelines', true) ?? [],
    branches: list(raw['branches'], 'branches', true) ?? [],
    steps,
    approvals: rules,
    api,
  };
  if (issues.list.length > 0) throw new ConfigError(issues.list, { hint: POLICY_HINT });
  return policy;
}

const POLICY_HINT = 'Fix the agent policy on this host (libs/ci-lib/README.md, "agent guard"); it is never read from the checkout.';

/** What the job says about itself: Buildkite's job environment, read at the edge. */
export interface JobFacts {
  organization?: string;
  pipeline?: string;
  repository?: string;
  branch?: string;
  tag?: string;
  /** BUILDKITE_PULL_REQUEST when not `false`. */
  pullRequest?: string;
  commit?: string;
  buildNumber?: number;
  stepKey?: string;
}

export function readJobFacts(env: Env): JobFacts {
  const facts: JobFacts = {};
  const set = <K extends keyof JobFacts>(key: K, value: JobFacts[K] | undefined): void => {
    if (value !== undefined) facts[key] = value;
  };
  set('organization', readEnv(env, 'BUILDKITE_ORGANIZATION_SLUG'));
  set('pipeline', readEnv(env, 'BUILDKITE_PIPELINE_SLUG'));
  set('repository', readEnv(env, 'BUILDKITE_REPO'));
  set('branch', readEnv(env, 'BUILDKITE_BRANCH'));
  set('tag', readEnv(env, 'BUILDKITE_TAG'));
  const pr = readEnv(env, 'BUILDKITE_PULL_REQUEST');
  if (pr !== undefined && pr !== 'false') facts.pullRequest = pr;
  set('commit', readEnv(env, 'BUILDKITE_COMMIT'));
  const number = readEnv(env, 'BUILDKITE_BUILD_NUMBER');
  if (number !== undefined && /^\d{1,12}$/.test(number)) facts.buildNumber = Number(number);
  set('stepKey', readEnv(env, 'BUILDKITE_STEP_KEY'));
  return facts;
}

/** The guard said no. Exit 1: the agent fails the job before its command runs. */
export class GuardRefusedError extends errorKind('GUARD_REFUSED', EXIT_CODES.checkFailed) {
  constructor(
    readonly reasons: readonly string[],
    queue: string,
  ) {
    super(`agent guard: refused this job on the ${queue} queue:\n${reasons.map((r) => `  - ${r}`).join('\n')}`, {
      hint: 'Pull requests and unreviewed branches run on the untrusted queue (engex.config.json untrustedQueue); this queue holds credentials. The policy is on the agent host, not in the repository.',
    });
  }
}

const match = (value: string | undefined, globs: readonly string[]): boolean => value !== undefined && matchesAny(value, globs);
const show = (value: string | undefined): string => (value === undefined ? '(unset)' : JSON.stringify(value.length > 120 ? `${value.slice(0, 117)}...` : value));

/** The approvals a job needs: each as the block step key to check. */
export interface NeededApproval {
  block: string;
  fourEyes: boolean;
}

/**
 * Pure: every reason to refuse from the job's own facts, and the approvals it still needs
 * (those need the API). The branch of a tag build is its tag.
 */
export function planGuard(policy: AgentPolicy, job: JobFacts): { refusals: string[]; approvals: NeededApproval[] } {
  const refusals: string[] = [];
  if (job.pullRequest !== undefined) refusals.push(`the build is pull request ${show(job.pullRequest)}: pull-request code never runs where credentials are`);
  if (job.organization !== policy.organization) refusals.push(`organization ${show(job.organization)} is not ${JSON.stringify(policy.organization)}`);
  if (job.repository === undefined || !policy.repositories.includes(job.repository))
    refusals.push(`repository ${show(job.repository)} is not one of ${policy.repositories.map((r) => JSON.stringify(r)).join(', ')}`);
  if (!match(job.pipeline, policy.pipelines)) refusals.push(`pipeline ${show(job.pipeline)} matches none of ${policy.pipelines.map((p) => JSON.stringify(p)).join(', ')}`);
  const ref = job.tag ?? job.branch;
  if (!match(ref, policy.branches))
    refusals.push(`${job.tag !== undefined ? 'tag' : 'branch'} ${show(ref)} matches none of ${policy.branches.map((b) => JSON.stringify(b)).join(', ')}`);
  if (policy.steps && !match(job.stepKey, policy.steps)) refusals.push(`step key ${show(job.stepKey)} matches none of ${policy.steps.map((s) => JSON.stringify(s)).join(', ')}`);
  const approvals: NeededApproval[] = [];
  for (const rule of policy.approvals) {
    if (!match(ref, rule.branches) || !match(job.stepKey, rule.steps)) continue;
    const key = job.stepKey as string;
    const cut = key.lastIndexOf(':');
    approvals.push({ block: `${cut === -1 ? '' : key.slice(0, cut + 1)}${rule.block}`, fourEyes: rule.fourEyes });
  }
  if ((approvals.length > 0 || policy.api) && job.buildNumber === undefined) refusals.push('BUILDKITE_BUILD_NUMBER is unset: the build cannot be checked with Buildkite');
  return { refusals, approvals };
}

interface Person {
  email?: string;
  name?: string;
}

/**
 * Pure: what Buildkite's own record of the build says against the job's claims and the needed
 * approvals. The API is the authority: a pipeline's `env:` can shadow the job's variables, it
 * cannot change the build Buildkite recorded.
 */
export function checkBuild(build: unknown, job: JobFacts, approvals: readonly NeededApproval[]): string[] {
  if (!isRecord(build)) return ['Buildkite answered something other than a build'];
  const refusals: string[] = [];
  const pr = build['pull_request'];
  if (pr !== null && pr !== undefined) refusals.push(`Buildkite records this build as pull request ${show(String(isRecord(pr) ? pr['id'] : pr))}`);
  if (build['branch'] !== (job.tag ?? job.branch) && build['branch'] !== job.branch)
    refusals.push(`Buildkite records branch ${show(String(build['branch']))}, the job claims ${show(job.branch)}`);
  if (job.commit !== undefined && job.commit !== 'HEAD' && build['commit'] !== job.commit)
    refusals.push(`Buildkite records commit ${show(String(build['commit']))}, the job claims ${show(job.commit)}`);
  const author = isRecord(build['author']) ? (build['author'] as Person) : undefined;
  const creator = isRecord(build['creator']) ? (build['creator'] as Person) : undefined;
  const jobs = Array.isArray(build['jobs']) ? (build['jobs'] as unknown[]).filter(isRecord) : [];
  for (const need of approvals) {
    const block = jobs.find((j) => j['type'] === 'manual' && j['step_key'] === need.block);
    if (!block) {
      refusals.push(`this job needs the block step ${JSON.stringify(need.block)}, and the build has none`);
      continue;
    }
    if (block['state'] !== 'unblocked') {
      refusals.push(`block step ${JSON.stringify(need.block)} is ${show(String(block['state']))}, not unblocked`);
      continue;
    }
    if (!need.fourEyes) continue;
    const by = isRecord(block['unblocked_by']) ? (block['unblocked_by'] as Person) : undefined;
    const email = by?.email?.toLowerCase();
    if (email === undefined) refusals.push(`block step ${JSON.stringify(need.block)} was unblocked by someone Buildkite does not name: four-eyes cannot be checked`);
    else if (author?.email === undefined) refusals.push(`the build has no commit author email: four-eyes cannot be checked for ${JSON.stringify(need.block)}`);
    else if (email === author.email.toLowerCase() || email === creator?.email?.toLowerCase())
      refusals.push(
        `block step ${JSON.stringify(need.block)} was unblocked by ${by?.name ?? 'the author'} <${email}>, who wrote or started this build: four-eyes needs someone else`,
      );
  }
  return refusals;
}
