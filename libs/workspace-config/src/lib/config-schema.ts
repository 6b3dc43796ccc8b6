import { APPROVALS, CONFIG_RULES, DEFAULT_WORKSPACE_CONFIG as D, SEVERITIES, STEP_GRANULARITIES } from './config.js';

type Rule = { pattern: RegExp; expected: string };
type JsonSchema = Record<string, unknown>;

const text = (rule: Rule, description: string, fallback?: string): JsonSchema => ({
  type: 'string',
  pattern: rule.pattern.source,
  description: `${description} Expected: ${rule.expected}.`,
  ...(fallback !== undefined ? { default: fallback } : {}),
});
const flag = (description: string, fallback: boolean): JsonSchema => ({ type: 'boolean', description, default: fallback });
const object = (description: string, properties: Record<string, JsonSchema>): JsonSchema => ({
  type: 'object',
  description,
  additionalProperties: false,
  properties,
});

const R = CONFIG_RULES;

/**
 * The JSON Schema of engex.config.json, built from the same rules as `parseWorkspaceConfig`, for
 * editors (completion and checks through `"$schema"`). The published
 * engex.config.schema.json is this object; a test keeps the two equal and checks with ajv that
 * schema and parser accept and reject the same documents. The parser stays the runtime check:
 * it merges defaults and names the bad value and what is allowed, and keeps ajv out of bundles.
 */
export const WORKSPACE_CONFIG_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://engex.local/engex.config.schema.json',
  title: 'engex workspace config (engex.config.json)',
  description: 'Workspace-wide defaults for engex-pipeline and engex-ci. Every key is optional; absent keys take the default shown.',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string', description: 'The schema of this file, for editors; ignored by engex.' },
    registry: object('The ECR registry every service image is pushed to.', {
      account: text(R.ACCOUNT, 'AWS account id that owns the ECR registry.', D.registry.account),
      region: text(R.REGION, 'AWS region of the registry; cn-* regions use the .amazonaws.com.cn hosts.', D.registry.region),
      repoPrefix: text(R.PREFIX, "Prefix of every service's repository.", D.registry.repoPrefix),
      allowMutable: flag('A MUTABLE repository is a warning in `engex-ci ecr check`, not an error.', D.registry.allowMutable),
    }),
    source: text(R.URL_RULE, 'URL of the source repository (OCI `source` label).', D.source),
    vendor: text(R.TEXT, 'OCI `vendor` label.', D.vendor),
    licenses: text(R.TEXT, 'OCI `licenses` label: a valid SPDX license expression (UNLICENSED is not one; private code is LicenseRef-<name>).', D.licenses),
    opsRepo: text(R.URL_RULE, 'Ops repo holding the kustomizations; `{service}` is replaced by the service name.', D.opsRepo),
    deployTargets: {
      type: 'array',
      description: 'Which branches deploy where; every target whose branch glob matches deploys (one step each). Two targets with the same branch and overlay are an error.',
      default: D.deployTargets.map(({ branch, overlay }) => ({ branch, overlay })),
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['branch', 'overlay'],
        properties: {
          branch: text(R.BRANCH_GLOB, 'Branch name or glob (`*` within one path segment, `**` across segments).'),
          overlay: text(
            R.OVERLAY,
            "Overlay directory in the ops repo; the bump finds its kustomization under any of kustomize's file names. Normalised before any rule applies: ./, a trailing / and an explicit kustomization file name are dropped.",
          ),
          pinDigest: flag('Write the pushed digest next to newTag, so exactly the scanned image runs.', false),
          approval: {
            enum: [...APPROVALS],
            description: '`manual` puts a Buildkite block step before the deploy. Default: `manual` for overlays/production, else `none`.',
          },
          url: text(R.HTTP_URL, 'Base URL of the environment; a verify step polls /version and /readyz after the deploy.'),
          argocd: {
            type: 'object',
            description: 'The ArgoCD Application that syncs this overlay; the verify step also waits for it to be Synced and Healthy (token: ARGOCD_AUTH_TOKEN).',
            additionalProperties: false,
            required: ['server', 'application'],
            properties: {
              server: text(R.HTTP_URL, "ArgoCD's base URL."),
              application: text(R.K8S_NAME, 'The Application name.'),
            },
          },
        },
      },
    },
    tags: object('Which tags to push besides the commit sha.', {
      short: flag('Also tag the 7-character short sha.', D.tags.short),
      branch: flag('Also tag the sanitized branch name (branch tags move, and ECR is IMMUTABLE).', D.tags.branch),
      pullRequest: flag('Also tag `pr-<n>` on pull-request builds.', D.tags.pullRequest),
      semver: flag('Also tag the semver of a `v1.2.3` git tag build.', D.tags.semver),
    }),
    slack: object('Build notifications.', { channel: text(R.CHANNEL, 'Slack channel.', D.slack.channel) }),
    agents: object('Buildkite agents.', {
      queue: text(R.QUEUE, 'Agent queue of the check steps of trusted builds (and every trusted step without a queue of its own).', D.agents.queue),
      platform: text(
        R.PLATFORM,
        "The agents' <os>-<arch> (Node's names), part of the dependency cache key: node_modules holds native packages for one platform.",
        D.agents.platform,
      ),
    }),
    trustedBranches: {
      type: 'array',
      minItems: 1,
      items: text(R.BRANCH_GLOB, 'Branch name or glob.'),
      description:
        'Branches whose builds are trusted (never a pull request): only they run on agents.queue, dockerQueue and deployQueue. A tag build is trusted when its tag matches. Default: the default branch plus every deploy target branch.',
    },
    untrustedQueue: text(
      R.QUEUE,
      'Agent queue of every step of an untrusted build (a pull request or a branch outside trustedBranches): no push, deploy or cache-write secret. Must differ from every trusted queue.',
      D.untrustedQueue,
    ),
    deployQueue: text(
      R.QUEUE,
      'Agent queue of the image (build and push) and deploy steps: agents with Docker, ECR-push and ops-write credentials. Must differ from agents.queue.',
      D.deployQueue,
    ),
    dockerQueue: text(R.QUEUE, 'Agent queue of the scan steps (Docker, no push). Default: agents.queue.'),
    plugins: object('Pinned Buildkite plugins.', {
      ecr: text(R.PLUGIN, 'The ECR login plugin.', D.plugins.ecr),
      testCollector: text(R.PLUGIN, "The Test Engine upload of each test step's JUnit report (token: the agent's BUILDKITE_ANALYTICS_TOKEN).", D.plugins.testCollector),
    }),
    trivy: object('The image scan.', {
      version: text(R.VERSION, 'Trivy version, run as a pinned container.', D.trivy.version),
      failOn: {
        type: 'array',
        minItems: 1,
        items: { enum: [...SEVERITIES] },
        description: 'Severities that fail the scan.',
        default: D.trivy.failOn,
      },
      ignoreUnfixed: flag('Ignore findings without a fixed version.', D.trivy.ignoreUnfixed),
    }),
    nodeImage: text(R.IMAGE, 'Default base image for the shared Dockerfile (`NODE_IMAGE` build-arg).', D.nodeImage),
    stepGranularity: {
      enum: [...STEP_GRANULARITIES],
      description:
        "How affected Nx tasks become Buildkite jobs. `checks` (the default): one job per affected project running its affected targets with `nx run-many`, except a service's `build`, which keeps a job of its own that its image job waits for; `target`: one job per task (finer retries, an install per task); `project`: one job per affected project, a service's `build` included.",
      default: D.stepGranularity,
    },
    testEngine: flag(
      "Send each test step's JUnit report to Buildkite Test Engine through `plugins.testCollector`; the agents need `BUILDKITE_ANALYTICS_TOKEN` (the plugin fails the step without it).",
      D.testEngine,
    ),
  },
};
