import picomatch from 'picomatch';
import { ConfigError } from './errors.js';
import { isSpdxExpression } from './spdx.js';
import { ecrImageName } from './registry.js';
import { Issues, describe, isRecord, readBoolean, readObject, readString, rejectUnknownKeys } from './validate.js';

/** The workspace-wide defaults file, at the workspace root. */
export const WORKSPACE_CONFIG_FILE = 'engex.config.json';

/** The Nx tag that marks a project as a deployable engex service (image, scan, deploy). */
export const SERVICE_TAG = 'engex:service';

export type Severity = 'UNKNOWN' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
export const SEVERITIES: readonly Severity[] = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

export type Approval = 'none' | 'manual';
export const APPROVALS: readonly Approval[] = ['none', 'manual'];

/** How the affected Nx tasks become Buildkite jobs (see `WorkspaceConfig.stepGranularity`). */
export type StepGranularity = 'checks' | 'target' | 'project';
export const STEP_GRANULARITIES: readonly StepGranularity[] = ['checks', 'target', 'project'];

/** The overlay whose targets need a human by default. */
export const PRODUCTION_OVERLAY = 'overlays/production';

/** The file names kustomize looks for in an overlay folder. */
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

/**
 * The one spelling of an overlay: `./`, empty and `.` segments, a trailing `/` and an explicit
 * kustomization file name are dropped. Every rule (approval, duplicates, the narrowing of a
 * service's targets) is applied to this, so `overlays/./production/kustomization.yaml` is
 * `overlays/production` and needs the same approval.
 */
export function normalizeOverlay(overlay: string): string {
  const parts = overlay.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length > 1 && (KUSTOMIZATION_FILES as readonly string[]).includes(parts[parts.length - 1] as string)) parts.pop();
  return parts.join('/');
}

export interface DeployTarget {
  /** Branch name or glob, picomatch semantics (`*` matches within one path segment, `**` across segments). */
  branch: string;
  /** Overlay directory in the ops repo; the bump finds its kustomization under any of kustomize's names. */
  overlay: string;
  /** Write the pushed digest next to newTag, so exactly the scanned image runs. Default false. */
  pinDigest: boolean;
  /** `manual` puts a Buildkite block step before the deploy. Default `manual` for overlays/production, else `none`. */
  approval: Approval;
  /** Base URL of the environment; when set, a verify step polls /version and /readyz after the deploy. */
  url?: string;
  /** The ArgoCD Application that syncs this overlay; the verify step also waits for it. */
  argocd?: { server: string; application: string };
}

export interface TagConfig {
  /** Also tag the 7-character short sha. Default false. */
  short: boolean;
  /** Also tag the sanitized branch name. Default false (branch tags move, and ECR is IMMUTABLE). */
  branch: boolean;
  /** Also tag `pr-<n>` on pull-request builds. Default false. */
  pullRequest: boolean;
  /** Also tag the semver of a `v1.2.3` git tag build. Default true. */
  semver: boolean;
}

export interface WorkspaceConfig {
  registry: {
    /** AWS account id that owns the ECR registry. Default 460210468233. */
    account: string;
    /** AWS region of the registry. Default us-east-1. */
    region: string;
    /** Prefix of every service's repository. Default `engex/`. */
    repoPrefix: string;
    /** A MUTABLE repository is a warning in `ecr check`, not an error. Default false. */
    allowMutable: boolean;
  };
  /** URL of the source repository (OCI `source` label). Default https://github.com/highspot/halow. */
  source: string;
  /** OCI `vendor` label. Default Highspot. */
  vendor: string;
  /** OCI `licenses` label: a valid SPDX expression. Default LicenseRef-Proprietary. */
  licenses: string;
  /** Ops repo holding the kustomizations; `{service}` is replaced. Default https://github.com/highspot/{service}-ops.git. */
  opsRepo: string;
  /** Which branches deploy where. Default main → overlays/staging, release/* → overlays/production. */
  deployTargets: DeployTarget[];
  tags: TagConfig;
  slack: { channel: string };
  agents: {
    /** Agent queue of the trusted check steps. Default `default`. */
    queue: string;
    /**
     * `<os>-<arch>` of every agent (Node's `process.platform`-`process.arch`), part of the
     * dependency cache key: a restored node_modules holds native packages for one platform.
     * Default `linux-x64`.
     */
    platform: string;
  };
  /**
   * Branch names or globs whose builds are trusted (when they are not pull requests): only their
   * steps run on the queues that hold credentials and the cache write rights. Absent: the
   * pipeline's default branch plus every deploy target's branch (`trustedBranchesFor`).
   */
  trustedBranches?: readonly string[];
  /**
   * Agent queue of every step of an untrusted build (a pull request, or a branch outside
   * `trustedBranches`): agents with Docker and read-only caches, no push, deploy or write secret.
   * Default `untrusted`; it must differ from every trusted queue.
   */
  untrustedQueue: string;
  /**
   * Agent queue of the image (build + push) and deploy steps: the only agents with ECR-push and
   * ops-write credentials, and Docker. Default `deploy`; it must differ from `agents.queue`, so
   * pull-request code never runs where those credentials are.
   */
  deployQueue: string;
  /** Agent queue of the steps that need Docker without pushing (scan; the smoke test runs in the image job). Default `agents.queue`. */
  dockerQueue: string;
  /** Pinned Buildkite plugins. Trivy runs as a pinned container (`trivy.version`), not a plugin. */
  plugins: {
    ecr: string;
    /** Uploads each test step's JUnit to Buildkite Test Engine (token: the agent's `BUILDKITE_ANALYTICS_TOKEN`). */
    testCollector: string;
  };
  trivy: { version: string; failOn: Severity[]; ignoreUnfixed: boolean };
  /** Default base image for the shared Dockerfile (`NODE_IMAGE` build-arg). */
  nodeImage: string;
  /**
   * `checks` (default): one job per affected project running its affected targets with
   * `nx run-many`, except a service's `build`, which keeps a job of its own so its image job
   * starts as soon as it is built. `target`: one job per affected Nx task. `project`: one job per
   * affected project, every target in it, a service's `build` too. `checks` is the default
   * because bench:agents (BENCHMARKS.md, issue 23) measured every job paying a clone and a
   * dependency restore: per-target jobs cost more agent time and a later first red.
   */
  stepGranularity: StepGranularity;
  /**
   * Send each test step's JUnit report to Buildkite Test Engine (`plugins.testCollector`). Off by
   * default: the plugin fails the step when the agent has no `BUILDKITE_ANALYTICS_TOKEN`, so a
   * workspace turns it on once its agents carry the token.
   */
  testEngine: boolean;
}

export const DEFAULT_WORKSPACE_CONFIG: WorkspaceConfig = {
  registry: { account: '460210468233', region: 'us-east-1', repoPrefix: 'engex/', allowMutable: false },
  source: 'https://github.com/highspot/halow',
  vendor: 'Highspot',
  licenses: 'LicenseRef-Proprietary',
  opsRepo: 'https://github.com/highspot/{service}-ops.git',
  deployTargets: [
    { branch: 'main', overlay: 'overlays/staging', pinDigest: false, approval: 'none' },
    { branch: 'release/*', overlay: 'overlays/production', pinDigest: false, approval: 'manual' },
  ],
  tags: { short: false, branch: false, pullRequest: false, semver: true },
  slack: { channel: '#engex-builds' },
  agents: { queue: 'default', platform: 'linux-x64' },
  untrustedQueue: 'untrusted',
  deployQueue: 'deploy',
  dockerQueue: 'default',
  plugins: { ecr: 'ecr#v2.10.0', testCollector: 'test-collector#v1.11.0' },
  trivy: { version: '0.58.2', failOn: ['HIGH', 'CRITICAL'], ignoreUnfixed: true },
  nodeImage: 'node:24.11.1-alpine3.22',
  stepGranularity: 'checks',
  testEngine: false,
};

/** The value rules of engex.config.json; parseWorkspaceConfig and the published JSON Schema share them. */
export const CONFIG_RULES = {
  ACCOUNT: { pattern: /^\d{12}$/, expected: 'a 12-digit AWS account id' },
  REGION: { pattern: /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, expected: 'an AWS region such as us-east-1' },
  PREFIX: { pattern: /^([a-z0-9]+(?:[._-][a-z0-9]+)*\/)*$/, expected: 'empty or lowercase path segments ending in "/", such as "engex/"' },
  URL_RULE: { pattern: /^(https:\/\/|ssh:\/\/|git@|file:\/\/|\/)\S+$/, expected: 'an https://, ssh://, git@ or file:// URL' },
  OVERLAY: { pattern: /^(?!\/)(?!.*\.\.)[A-Za-z0-9._/-]+$/, expected: 'a relative folder such as overlays/staging' },
  BRANCH_GLOB: { pattern: /^[^\s~^:?\\[]+$/, expected: 'a branch name or glob such as main or release/*' },
  PLUGIN: { pattern: /^[a-z0-9-]+(\/[a-z0-9-]+)?#v\d+\.\d+\.\d+$/, expected: 'a plugin pinned to an exact version, such as ecr#v2.10.0' },
  VERSION: { pattern: /^\d+\.\d+\.\d+$/, expected: 'an exact version such as 0.58.2' },
  CHANNEL: { pattern: /^#[a-z0-9._-]{1,80}$/, expected: 'a Slack channel such as #engex-builds' },
  QUEUE: { pattern: /^[A-Za-z0-9._-]{1,100}$/, expected: 'an agent queue name such as default' },
  PLATFORM: { pattern: /^(linux|darwin|win32|freebsd)-(x64|arm64|arm|ppc64|s390x)$/, expected: '<os>-<arch> as Node names them, such as linux-x64 or linux-arm64' },
  IMAGE: { pattern: /^[a-z0-9./_:@-]+$/, expected: 'an image reference such as node:24.11.1-alpine3.22' },
  TEXT: { pattern: /^[^\n\r]{1,200}$/, expected: 'one line of text' },
  HTTP_URL: { pattern: /^https?:\/\/[^\s/?#]+[^\s]*$/, expected: 'an http:// or https:// URL such as https://halow.staging.example.com' },
  K8S_NAME: { pattern: /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, expected: 'an ArgoCD Application name such as halow-staging' },
} as const;
const { ACCOUNT, REGION, PREFIX, URL_RULE, OVERLAY, BRANCH_GLOB, PLUGIN, VERSION, CHANNEL, QUEUE, PLATFORM, IMAGE, TEXT, HTTP_URL, K8S_NAME } = CONFIG_RULES;

/** Validates the parsed JSON of engex.config.json, merging it over the defaults. */
export function parseWorkspaceConfig(raw: unknown, file = WORKSPACE_CONFIG_FILE): WorkspaceConfig {
  const issues = new Issues(file);
  const d = DEFAULT_WORKSPACE_CONFIG;
  if (!isRecord(raw)) {
    issues.add('', `expected a JSON object, got ${describe(raw)}`);
    throw new ConfigError(issues.list);
  }
  rejectUnknownKeys(issues, raw, '', [
    '$schema',
    'registry',
    'source',
    'vendor',
    'licenses',
    'opsRepo',
    'deployTargets',
    'tags',
    'slack',
    'agents',
    'trustedBranches',
    'untrustedQueue',
    'deployQueue',
    'dockerQueue',
    'plugins',
    'trivy',
    'nodeImage',
    'stepGranularity',
    'testEngine',
  ]);
  const registry = readObject(issues, raw, 'registry', '');
  rejectUnknownKeys(issues, registry, 'registry', ['account', 'region', 'repoPrefix', 'allowMutable']);
  const tags = readObject(issues, raw, 'tags', '');
  rejectUnknownKeys(issues, tags, 'tags', ['short', 'branch', 'pullRequest', 'semver']);
  const slack = readObject(issues, raw, 'slack', '');
  rejectUnknownKeys(issues, slack, 'slack', ['channel']);
  const agents = readObject(issues, raw, 'agents', '');
  rejectUnknownKeys(issues, agents, 'agents', ['queue', 'platform']);
  const plugins = readObject(issues, raw, 'plugins', '');
  rejectUnknownKeys(issues, plugins, 'plugins', ['ecr', 'testCollector']);
  const trivy = readObject(issues, raw, 'trivy', '');
  rejectUnknownKeys(issues, trivy, 'trivy', ['version', 'failOn', 'ignoreUnfixed']);

  const queue = readString(issues, agents, 'queue', 'agents', d.agents.queue, QUEUE);
  const deployQueue = readString(issues, raw, 'deployQueue', '', d.deployQueue, QUEUE);
  if (deployQueue === queue) {
    issues.add(
      'deployQueue',
      `must differ from agents.queue (${JSON.stringify(queue)}): pull-request code must never run on the agents that hold ECR-push and ops-write credentials`,
    );
  }
  const dockerQueue = readString(issues, raw, 'dockerQueue', '', queue, QUEUE);
  const untrustedQueue = readString(issues, raw, 'untrustedQueue', '', d.untrustedQueue, QUEUE);
  const trusted = { 'agents.queue': queue, deployQueue, dockerQueue };
  for (const [key, value] of Object.entries(trusted)) {
    if (untrustedQueue === value) {
      issues.add('untrustedQueue', `must differ from ${key} (${JSON.stringify(value)}): untrusted code must never run on an agent that holds a push, deploy or cache-write secret`);
    }
  }
  const trustedBranches = readBranchList(issues, raw['trustedBranches'], 'trustedBranches');
  const config: WorkspaceConfig = {
    registry: {
      account: readString(issues, registry, 'account', 'registry', d.registry.account, ACCOUNT),
      region: readString(issues, registry, 'region', 'registry', d.registry.region, REGION),
      repoPrefix: readString(issues, registry, 'repoPrefix', 'registry', d.registry.repoPrefix, PREFIX),
      allowMutable: readBoolean(issues, registry, 'allowMutable', 'registry', d.registry.allowMutable),
    },
    source: readString(issues, raw, 'source', '', d.source, URL_RULE),
    vendor: readString(issues, raw, 'vendor', '', d.vendor, TEXT),
    licenses: readSpdx(issues, raw, 'licenses', d.licenses),
    opsRepo: readString(issues, raw, 'opsRepo', '', d.opsRepo, URL_RULE),
    deployTargets: readDeployTargets(issues, raw['deployTargets'], 'deployTargets', d.deployTargets),
    tags: {
      short: readBoolean(issues, tags, 'short', 'tags', d.tags.short),
      branch: readBoolean(issues, tags, 'branch', 'tags', d.tags.branch),
      pullRequest: readBoolean(issues, tags, 'pullRequest', 'tags', d.tags.pullRequest),
      semver: readBoolean(issues, tags, 'semver', 'tags', d.tags.semver),
    },
    slack: { channel: readString(issues, slack, 'channel', 'slack', d.slack.channel, CHANNEL) },
    agents: { queue, platform: readString(issues, agents, 'platform', 'agents', d.agents.platform, PLATFORM) },
    ...(trustedBranches ? { trustedBranches } : {}),
    untrustedQueue,
    deployQueue,
    dockerQueue,
    plugins: {
      ecr: readString(issues, plugins, 'ecr', 'plugins', d.plugins.ecr, PLUGIN),
      testCollector: readString(issues, plugins, 'testCollector', 'plugins', d.plugins.testCollector, PLUGIN),
    },
    trivy: {
      version: readString(issues, trivy, 'version', 'trivy', d.trivy.version, VERSION),
      failOn: readSeverities(issues, trivy['failOn'], 'trivy.failOn', d.trivy.failOn),
      ignoreUnfixed: readBoolean(issues, trivy, 'ignoreUnfixed', 'trivy', d.trivy.ignoreUnfixed),
    },
    nodeImage: readString(issues, raw, 'nodeImage', '', d.nodeImage, IMAGE),
    stepGranularity: readGranularity(issues, raw['stepGranularity'], d.stepGranularity),
    testEngine: readBoolean(issues, raw, 'testEngine', '', d.testEngine),
  };
  if (issues.list.length > 0) throw new ConfigError(issues.list);
  return config;
}

const TARGET_KEYS = ['branch', 'overlay', 'pinDigest', 'approval', 'url', 'argocd'];

function readGranularity(issues: Issues, value: unknown, fallback: StepGranularity): StepGranularity {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (STEP_GRANULARITIES as readonly string[]).includes(value)) return value as StepGranularity;
  issues.add('stepGranularity', `expected one of ${STEP_GRANULARITIES.join(', ')}, got ${describe(value)}`);
  return fallback;
}

function readBranchList(issues: Issues, value: unknown, path: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    issues.add(path, `expected a non-empty array of branch names or globs such as ["main", "release/*"], got ${describe(value)}`);
    return undefined;
  }
  const out: string[] = [];
  value.forEach((b: unknown, i) => {
    if (typeof b === 'string' && BRANCH_GLOB.pattern.test(b)) out.push(b);
    else issues.add(`${path}[${i}]`, `expected ${BRANCH_GLOB.expected}, got ${describe(b)}`);
  });
  return out;
}

/**
 * `policy` is the workspace's targets when reading a service's: the service may only narrow them
 * (a branch pattern the workspace has, approval at least what the workspace asks for that branch).
 */
function readDeployTargets(issues: Issues, value: unknown, path: string, fallback: DeployTarget[], policy?: readonly DeployTarget[]): DeployTarget[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value)) {
    issues.add(path, `expected an array of { branch, overlay }, got ${describe(value)}`);
    return fallback;
  }
  const seen = new Map<string, number>();
  return value.map((entry: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(entry)) {
      issues.add(at, `expected { branch, overlay }, got ${describe(entry)}`);
      return { branch: '', overlay: '', pinDigest: false, approval: 'none' };
    }
    rejectUnknownKeys(issues, entry, at, TARGET_KEYS);
    if (entry['branch'] === undefined) issues.add(`${at}.branch`, 'is required');
    if (entry['overlay'] === undefined) issues.add(`${at}.overlay`, 'is required');
    const branch = readString(issues, entry, 'branch', at, '', BRANCH_GLOB);
    const rawOverlay = readString(issues, entry, 'overlay', at, '', OVERLAY);
    const overlay = normalizeOverlay(rawOverlay);
    if (rawOverlay !== '' && overlay === '') issues.add(`${at}.overlay`, `expected ${OVERLAY.expected}, got ${describe(rawOverlay)}`);
    const id = `${branch}\u0000${overlay}`;
    const first = seen.get(id);
    if (first !== undefined && branch !== '' && overlay !== '') {
      issues.add(at, `duplicates ${path}[${first}] (branch ${JSON.stringify(branch)}, overlay ${JSON.stringify(overlay)}): remove one`);
    } else seen.set(id, i);
    // Decided on the normalised overlay, so no spelling of production escapes its approval.
    let required: Approval = overlay === PRODUCTION_OVERLAY ? 'manual' : 'none';
    if (policy && branch !== '') {
      const same = policy.filter((t) => t.branch === branch);
      if (same.length === 0) {
        const allowed = [...new Set(policy.map((t) => t.branch))].map((b) => JSON.stringify(b)).join(', ');
        issues.add(
          `${at}.branch`,
          `${JSON.stringify(branch)} is not a deploy branch of ${WORKSPACE_CONFIG_FILE}: a service may only narrow the workspace's deploy policy; use one of ${allowed || '(none: the workspace deploys nothing)'}, or add the branch to ${WORKSPACE_CONFIG_FILE} deployTargets`,
        );
      }
      if (same.some((t) => t.approval === 'manual')) required = 'manual';
    }
    let resolved: Approval = required;
    const approval = entry['approval'];
    if (approval !== undefined) {
      if (typeof approval === 'string' && (APPROVALS as readonly string[]).includes(approval)) resolved = approval as Approval;
      else issues.add(`${at}.approval`, `expected one of ${APPROVALS.join(', ')}, got ${describe(approval)}`);
    }
    if (policy && required === 'manual' && resolved === 'none') {
      issues.add(
        `${at}.approval`,
        `"none" widens the workspace's deploy policy: ${WORKSPACE_CONFIG_FILE} requires approval "manual" for branch ${JSON.stringify(branch)} to ${JSON.stringify(overlay)}; remove the key or set "manual"`,
      );
      resolved = 'manual';
    }
    const target: DeployTarget = {
      branch,
      overlay,
      pinDigest: readBoolean(issues, entry, 'pinDigest', at, false),
      approval: resolved,
    };
    if (entry['url'] !== undefined) target.url = readString(issues, entry, 'url', at, '', HTTP_URL).replace(/\/+$/, '');
    if (entry['argocd'] !== undefined) {
      const argocd = readObject(issues, entry, 'argocd', at);
      const where = `${at}.argocd`;
      rejectUnknownKeys(issues, argocd, where, ['server', 'application']);
      if (argocd['server'] === undefined) issues.add(`${where}.server`, 'is required');
      if (argocd['application'] === undefined) issues.add(`${where}.application`, 'is required');
      target.argocd = {
        server: readString(issues, argocd, 'server', where, '', HTTP_URL).replace(/\/+$/, ''),
        application: readString(issues, argocd, 'application', where, '', K8S_NAME),
      };
    }
    return target;
  });
}

function readSeverities(issues: Issues, value: unknown, path: string, fallback: Severity[]): Severity[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0) {
    issues.add(path, `expected a non-empty array of ${SEVERITIES.join(', ')}, got ${describe(value)}`);
    return fallback;
  }
  const out: Severity[] = [];
  value.forEach((s: unknown, i) => {
    if (typeof s === 'string' && (SEVERITIES as readonly string[]).includes(s)) out.push(s as Severity);
    else issues.add(`${path}[${i}]`, `expected one of ${SEVERITIES.join(', ')}, got ${describe(s)}`);
  });
  return out;
}

/** What the Nx project graph says about a project; the input to `resolveServiceConfig`. */
export interface ProjectInfo {
  /** Nx project name, e.g. `@engex/halow`. */
  name: string;
  /** Project root relative to the workspace, e.g. `apps/halow`. */
  root: string;
  tags: readonly string[];
  /** The project's `nx.metadata` (only `metadata.engex` is read). */
  metadata?: Record<string, unknown>;
}

/** A deployable service with every default applied: nothing downstream re-applies one. */
export interface ServiceConfig {
  project: string;
  root: string;
  /** Short service name: the last segment of the project root, e.g. `halow`. */
  service: string;
  /** ECR repository name, e.g. `engex/halow`. */
  repository: string;
  description: string;
  ownerTeam: string;
  port: number;
  source: string;
  /** Bundle that the shared Dockerfile copies, relative to the workspace root. */
  bundle: string;
  opsRepo: string;
  /** `images[].name` in the ops kustomizations. Default: the full ECR image name without tag. */
  deployImageName: string;
  deployTargets: DeployTarget[];
  /**
   * What a deploy waits for: `build` (default) every check step of the build, as the seed's
   * sequential pipeline did; `service` only the checks of the service's own dependency closure.
   */
  deployWhen: DeployWhen;
}

export type DeployWhen = 'build' | 'service';
export const DEPLOY_WHEN: readonly DeployWhen[] = ['build', 'service'];

const SERVICE_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const REPO_NAME = { pattern: /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/, expected: 'an ECR repository name such as engex/halow' };

export function isService(project: Pick<ProjectInfo, 'tags'>): boolean {
  return project.tags.includes(SERVICE_TAG);
}

/**
 * Per-project overrides live in the project's package.json under `nx.metadata.engex`; this
 * merges them over the workspace defaults. Returns undefined for a project that is not a service.
 */
export function resolveServiceConfig(ws: WorkspaceConfig, project: ProjectInfo): ServiceConfig | undefined {
  if (!isService(project)) return undefined;
  const file = `${project.root}/package.json`;
  const issues = new Issues(file);
  const service = project.root.split('/').filter(Boolean).pop() ?? '';
  if (!SERVICE_NAME.test(service)) {
    issues.add('', `service folder name ${describe(service)} must be kebab-case (a-z, 0-9 and single dashes)`);
  }
  const meta = project.metadata ?? {};
  const engex = readObject(issues, meta, 'engex', 'nx.metadata');
  const at = 'nx.metadata.engex';
  rejectUnknownKeys(issues, engex, at, ['description', 'ownerTeam', 'port', 'repository', 'source', 'opsRepo', 'deployImageName', 'deployTargets', 'deployWhen']);
  let deployWhen: DeployWhen = 'build';
  if (engex['deployWhen'] !== undefined) {
    const w = engex['deployWhen'];
    if (typeof w === 'string' && (DEPLOY_WHEN as readonly string[]).includes(w)) deployWhen = w as DeployWhen;
    else issues.add(`${at}.deployWhen`, `expected one of ${DEPLOY_WHEN.join(', ')}, got ${describe(w)}`);
  }
  const repository = readString(issues, engex, 'repository', at, `${ws.registry.repoPrefix}${service}`, REPO_NAME);
  if (repository.length < 2 || repository.length > 256) {
    issues.add(`${at}.repository`, `must be 2-256 characters, got ${repository.length}`);
  }
  // A service's own names only: another service's repository or ops repo is a deploy right the
  // workspace never granted (any branch can edit a package.json).
  const ownRepository = `${ws.registry.repoPrefix}${service}`;
  if (engex['repository'] !== undefined && repository !== ownRepository && !repository.startsWith(`${ownRepository}/`)) {
    issues.add(
      `${at}.repository`,
      `${JSON.stringify(repository)} is outside the workspace's naming pattern: a service may only push to ${JSON.stringify(ownRepository)} or a repository under ${JSON.stringify(`${ownRepository}/`)}`,
    );
  }
  const ownOpsRepo = ws.opsRepo.replaceAll('{service}', service);
  const opsRepoOverride = engex['opsRepo'];
  if (typeof opsRepoOverride === 'string' && opsRepoOverride.replaceAll('{service}', service) !== ownOpsRepo) {
    issues.add(
      `${at}.opsRepo`,
      `${JSON.stringify(opsRepoOverride)} is outside the workspace's naming pattern ${JSON.stringify(ws.opsRepo)}: this service may only deploy through ${JSON.stringify(ownOpsRepo)}; change opsRepo in ${WORKSPACE_CONFIG_FILE} instead`,
    );
  }
  let port = 3000;
  if (engex['port'] !== undefined) {
    const p = engex['port'];
    if (typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535) port = p;
    else issues.add(`${at}.port`, `expected an integer from 1 to 65535, got ${describe(p)}`);
  }
  const config: ServiceConfig = {
    project: project.name,
    root: project.root,
    service,
    repository,
    description: readString(issues, engex, 'description', at, `${service} service`, TEXT),
    ownerTeam: readString(issues, engex, 'ownerTeam', at, 'engex', { pattern: /^[a-z0-9-]{1,64}$/, expected: 'a kebab-case team name' }),
    port,
    source: readString(issues, engex, 'source', at, ws.source, URL_RULE),
    bundle: `${project.root}/dist`,
    opsRepo: readString(issues, engex, 'opsRepo', at, ws.opsRepo, URL_RULE).replaceAll('{service}', service),
    deployImageName: readString(issues, engex, 'deployImageName', at, ecrImageName(ws.registry, repository), {
      pattern: /^[a-z0-9./_:-]+$/,
      expected: 'an image name without tag',
    }),
    deployTargets: readDeployTargets(issues, engex['deployTargets'], `${at}.deployTargets`, ws.deployTargets, ws.deployTargets),
    deployWhen,
  };
  if (issues.list.length > 0) throw new ConfigError(issues.list);
  return config;
}

/**
 * Matches a branch against the configured targets; the first match wins. picomatch semantics, the
 * same the pipeline generator uses: `*` stays inside one path segment, `**` crosses segments.
 */
export function deployTargetFor(branch: string, targets: readonly DeployTarget[]): DeployTarget | undefined {
  return targets.find((t) => picomatch.isMatch(branch, t.branch, { dot: true }));
}

/** Whether `name` matches any of the globs, with the deploy targets' semantics (picomatch, dot files included). */
export function matchesAny(name: string, globs: readonly string[]): boolean {
  return globs.some((g) => picomatch.isMatch(name, g, { dot: true }));
}

/** Every target whose branch glob matches, in config order: each one deploys. */
export function deployTargetsFor(branch: string, targets: readonly DeployTarget[]): DeployTarget[] {
  return targets.filter((t) => picomatch.isMatch(branch, t.branch, { dot: true }));
}

/** A one-line SPDX license expression; `UNLICENSED` (npm's word) is not one. */
function readSpdx(issues: Issues, raw: Record<string, unknown>, key: string, fallback: string): string {
  const value = readString(issues, raw, key, '', fallback, CONFIG_RULES.TEXT);
  if (value === fallback || isSpdxExpression(value)) return value;
  issues.add(key, `expected an SPDX license expression such as LicenseRef-Proprietary or MIT, got ${JSON.stringify(value)}`);
  return fallback;
}

/** The branches whose builds are trusted: `trustedBranches`, else the default branch plus every deploy target's branch. */
export function trustedBranchesFor(config: Pick<WorkspaceConfig, 'trustedBranches' | 'deployTargets'>, defaultBranch: string): string[] {
  return config.trustedBranches ? [...config.trustedBranches] : [...new Set([defaultBranch, ...config.deployTargets.map((t) => t.branch)])];
}

/** What decides a build's trust zone; everything comes from the build's context, validated at the edge. */
export interface TrustInput {
  pullRequest?: number;
  branch?: string;
  /** The git tag of a tag build: it is checked against the trusted patterns too (anyone can tag any commit). */
  tag?: string;
  defaultBranch: string;
}

export interface TrustDecision {
  zone: 'trusted' | 'untrusted';
  reason: string;
}

/**
 * Pure: a build is trusted only when it is not a pull request and its branch (and tag, for a tag
 * build) matches a trusted branch pattern. Everything else runs on the untrusted queue.
 */
export function decideTrust(config: Pick<WorkspaceConfig, 'trustedBranches' | 'deployTargets'>, input: TrustInput): TrustDecision {
  const patterns = trustedBranchesFor(config, input.defaultBranch);
  const list = patterns.map((p) => JSON.stringify(p)).join(', ');
  const matches = (name: string): boolean => matchesAny(name, patterns);
  if (input.pullRequest !== undefined) return { zone: 'untrusted', reason: `pull request #${input.pullRequest}: pull-request code is unreviewed` };
  if (input.tag !== undefined && !matches(input.tag)) return { zone: 'untrusted', reason: `tag ${JSON.stringify(input.tag)} matches no trusted branch (${list})` };
  if (input.branch === undefined) return { zone: 'untrusted', reason: 'no branch' };
  if (!matches(input.branch)) return { zone: 'untrusted', reason: `branch ${JSON.stringify(input.branch)} matches no trusted branch (${list})` };
  return { zone: 'trusted', reason: `branch ${JSON.stringify(input.branch)} is trusted (${list}) and not a pull request` };
}
