import { CONTEXT_ENV } from '../lib/context.js';
import { DEADLINE_ENV } from '../lib/deadlines.js';

export interface FlagSpec {
  name: string;
  type: 'string' | 'boolean';
  /** Placeholder in help, e.g. `<p>`. */
  value?: string;
  required?: boolean;
  /** Boolean flags that also accept `--no-<name>`. */
  negatable?: boolean;
  description: string;
}

export interface CommandSpec {
  /** `image build`. */
  name: string;
  summary: string;
  /** Short form for the command list, e.g. `--project <p>`. */
  synopsis: string;
  details: readonly string[];
  flags: readonly FlagSpec[];
  positionals: readonly { name: string; description: string }[];
  /** What it prints on stdout. */
  output: readonly string[];
  /** Env variables it reads. */
  env: readonly string[];
  exit: string;
}

// `as const` (here and on the table) keeps each name literal: `contract.ts` derives the typed
// `EngexCiCall` from them. A flag shared between entries is declared the same way.
const PROJECT = {
  name: 'project',
  type: 'string',
  value: '<p>',
  required: true,
  description: 'Nx project name (@engex/halow) or service folder name (halow); must carry the engex:service tag',
} as const satisfies FlagSpec;
const IMAGE_ENV = [...CONTEXT_ENV, DEADLINE_ENV.registryMs, DEADLINE_ENV.awsMs];

export const COMMANDS = [
  {
    name: 'agent guard',
    summary: 'Refuse a job this credential-holding agent must not run (the pre-command hook of trusted queues)',
    synopsis: '--policy <file>',
    details: [
      'Reads the policy from a file on the agent host (absolute path, outside the checkout, not group/world-writable),',
      'never from the repository. Refuses a pull request, and any repository, organization, pipeline, branch (or tag)',
      'or step key the policy does not list. With "api" set it asks Buildkite for the build (pull request, branch,',
      'commit as recorded) and, where an approval rule matches, whether the block step was unblocked by someone other',
      'than the commit author and the build creator. Install: libs/ci-lib/agent-hooks/pre-command.',
    ],
    flags: [{ name: 'policy', type: 'string', value: '<file>', description: 'The host policy (JSON); default ENGEX_AGENT_POLICY' }],
    positionals: [],
    output: ['agent guard: allowed <pipeline> build <n> step <key> on branch <b> (<queue> queue; <what Buildkite confirmed>)'],
    env: [
      'ENGEX_AGENT_POLICY',
      'BUILDKITE_ORGANIZATION_SLUG',
      'BUILDKITE_PIPELINE_SLUG',
      'BUILDKITE_REPO',
      'BUILDKITE_BRANCH',
      'BUILDKITE_TAG',
      'BUILDKITE_PULL_REQUEST',
      'BUILDKITE_COMMIT',
      'BUILDKITE_BUILD_NUMBER',
      'BUILDKITE_STEP_KEY',
      'BUILDKITE_BUILD_CHECKOUT_PATH',
    ],
    exit: '0 allowed, 1 refused, 2 bad policy or usage, 4 Buildkite API unreachable (the job does not run either)',
  },
  {
    name: 'image build',
    summary: 'Build the service image with every tag, OCI label and build arg computed here',
    synopsis: '--project <p> [--source-date-epoch commit]',
    details: [
      'Runs `docker build` on docker/Dockerfile with the workspace root as context, after `nx build` produced',
      'the service bundle (<service root>/dist). Tags: <repo>:<sha> and <registry>/<repo>:<tag> for the full sha',
      'plus the optional tags enabled in engex.config.json `tags`. Uses the legacy builder (DOCKER_BUILDKIT=0)',
      'when the buildx plugin is missing, unless DOCKER_BUILDKIT is set. Writes the SBOM first (see `image sbom`).',
      '`created` is SOURCE_DATE_EPOCH when set; else, with --source-date-epoch commit, the commit time (what',
      'generated Buildkite steps pass, so a retried job has the same labels); else the clock.',
    ],
    flags: [
      PROJECT,
      {
        name: 'source-date-epoch',
        type: 'string',
        value: 'commit',
        description: "Without SOURCE_DATE_EPOCH in the environment, use the commit's committer time (git show -s --format=%ct)",
      },
    ],
    positionals: [],
    output: ['built <registry>/<repo>:<sha> image=<sha256:id> size=<bytes> (<human>)', 'tagged <reference>   (one line per tag, and the local <repo>:<sha>)'],
    env: IMAGE_ENV,
    exit: '0 built, 2 usage/config (bundle or Dockerfile missing, bad env), 4 docker failed',
  },
  {
    name: 'image sbom',
    summary: 'Write the CycloneDX SBOM of the npm packages bundled into the service',
    synopsis: '--project <p>',
    details: [
      'Reads the esbuild metafile (<service root>/dist/meta.json, written by `nx build`) and package-lock.json,',
      'and writes <service root>/dist/sbom.cdx.json (CycloneDX 1.6 JSON, validated against its schema): every',
      'npm package with bytes in the bundle, with version, purl, license and SHA-512 hash from the lockfile.',
      'Timestamp: SOURCE_DATE_EPOCH, else the commit time, so the same commit gives the same bytes.',
      '`image build` runs this too, bakes the file into the image at /app/sbom.cdx.json and labels',
      'io.hspt.sbom.digest with its sha256.',
    ],
    flags: [PROJECT],
    positionals: [],
    output: ['sbom <service root>/dist/sbom.cdx.json sha256:<hex> packages=<n>'],
    env: CONTEXT_ENV,
    exit: '0 written, 2 usage/config (metafile or lockfile missing or disagreeing)',
  },
  {
    name: 'image push',
    summary: 'Push every tag idempotently to the IMMUTABLE repository',
    synopsis: '--project <p>',
    details: [
      'Checks every tag in the registry before pushing anything, comparing image ids (config digests):',
      '  same image              -> "unchanged", nothing pushed',
      '  absent                  -> docker push, then the registry is asked again',
      '  other image, same commit (a retried/rebuilt job) -> "kept": the earlier image stays, nothing pushed,',
      '                             the local tag is re-pointed at it (docker pull)',
      '  other image, other or unknown commit -> immutability conflict, exit 3, nothing pushed',
      'Auth: ECR GetAuthorizationToken (AWS credentials of the agent); none for REGISTRY=host:port.',
      'With --digest-file, writes the manifest digest of the commit tag to <file> (for buildkite-agent meta-data).',
    ],
    flags: [PROJECT, { name: 'digest-file', type: 'string', value: '<file>', description: "Write the commit tag's manifest digest (sha256:…) to this file" }],
    positionals: [],
    output: [
      'pushed <ref>@<manifest digest> image=<sha256:id> size=<bytes>',
      'unchanged <ref>@<digest> image=<id> size=<bytes> (already in the registry; nothing pushed)',
      'kept <ref>@<digest> image=<id> size=<bytes> (an earlier build of this commit pushed it; this rebuild <id> was not pushed ...)',
    ],
    env: IMAGE_ENV,
    exit: '0 pushed or already there, 2 usage/config (no local image), 3 immutability conflict, 4 registry/docker failure',
  },
  {
    name: 'image exists',
    summary: 'Ask the registry whether <registry>/<repo>:<sha> exists',
    synopsis: '--project <p>',
    details: ['HEAD /v2/<repo>/manifests/<sha> through the OCI distribution API.'],
    flags: [PROJECT],
    positionals: [],
    output: ['exists <ref>@<digest>', 'absent <ref>'],
    env: IMAGE_ENV,
    exit: '0 exists, 1 absent, 2 usage/config, 4 registry unreachable',
  },
  {
    name: 'image smoke',
    summary: 'Run the pushed image; check /healthz and that /version.revision is the commit',
    synopsis: '--project <p> [--local]',
    details: [
      'docker pull <ref>, then docker run -d --network host -e PORT=<free port> -e HOST=127.0.0.1 <ref>;',
      'polls GET /healthz for up to 30 s, then GET /version. The container is always removed.',
      '--local smokes the image this agent built, without a pull (untrusted builds never push it).',
    ],
    flags: [PROJECT, { name: 'local', type: 'boolean', description: 'Smoke the local image built on this agent; no docker pull (pull-request builds, which never push)' }],
    positionals: [],
    output: ['smoke ok <ref> revision=<sha> port=<port>'],
    env: IMAGE_ENV,
    exit: '0 ok, 1 smoke test failed, 2 usage/config, 4 docker failure',
  },
  {
    name: 'image env',
    summary: "Print the seed pipeline's image variables for this build",
    synopsis: '--project <p>',
    details: ['The same values build/push/smoke use, computed in one place.'],
    flags: [PROJECT],
    positionals: [],
    output: ['VERSION=<sha>', 'ECR_HOST=<registry host>', 'REPO_NAME=<repo>', 'IMAGE_LOCAL=<repo>:<sha>', 'IMAGE_DEST=<registry host>/<repo>:<sha>'],
    env: IMAGE_ENV,
    exit: '0 ok, 2 usage/config',
  },
  {
    name: 'scan report',
    summary: 'Gate a Trivy JSON report and write a Markdown annotation',
    synopsis: '<trivy.json> [--fail-on ...] [--annotation <out.md>]',
    details: [
      'Reads `trivy image --format json` output (SchemaVersion 2). An unreadable or wrong-schema report is an',
      'error (exit 2), never a pass. Defaults come from engex.config.json `trivy`. .trivyignore entries may',
      'carry exp:YYYY-MM-DD; they stop applying at the start of that day (UTC), as in Trivy.',
    ],
    flags: [
      { name: 'fail-on', type: 'string', value: '<severities>', description: 'Comma-separated severities that fail the gate (default: config trivy.failOn, HIGH,CRITICAL)' },
      {
        name: 'ignore-unfixed',
        type: 'boolean',
        negatable: true,
        description: 'Findings without a fixed version never fail the gate (default: config trivy.ignoreUnfixed, true); --no-ignore-unfixed counts them',
      },
      { name: 'trivyignore', type: 'string', value: '<file>', description: 'Ignore file (default: <workspace>/.trivyignore when it exists)' },
      { name: 'annotation', type: 'string', value: '<out.md>', description: 'Write the Markdown here instead of stdout (for buildkite-agent annotate)' },
      {
        name: 'sbom-report',
        type: 'string',
        value: '<sbom.json>',
        description: "`trivy sbom` JSON report of the image's SBOM (bundled npm packages), merged with <trivy.json> into one verdict; each failing finding says where it came from",
      },
    ],
    positionals: [{ name: 'trivy.json', description: 'The Trivy JSON report (`trivy image`)' }],
    output: ['The Markdown annotation (stdout unless --annotation); one summary line on stderr'],
    env: [],
    exit: '0 policy passed, 1 policy failed, 2 unreadable/invalid report or bad flags',
  },
  {
    name: 'deploy bump',
    summary: "Set an image's newTag in an ops repo overlay, commit and push",
    synopsis: '--repo <git-url> --overlay <dir> --image <name> --tag <sha>',
    details: [
      "Shallow-clones the repo into a temp dir and finds the overlay's kustomization under any of kustomize's",
      'names (kustomization.yaml, kustomization.yml, Kustomization; two at once is an error). Needs kubectl or',
      'kustomize (checked first): the overlay is rendered to find every container of the service (containers,',
      'initContainers, CronJobs...) and the images[] entry kustomize applies to it (the name exactly as written,',
      'registry included, through newName chains and components). That entry gets newTag (and newName when the',
      'image would not be the pushed one); after the edit the render must show every container of the service at',
      "<image>:<tag> before anything is committed. A container no entry reaches is an error listing the render's",
      'names (exit 2), unless --create. A pinned digest is an error unless --pin-digest writes it with --digest.',
      'Refuses to go backwards (exit 1), and fails closed (exit 4, retried) when it cannot tell: a commit missing',
      'here or a failed fetch; --allow-rollback or ENGEX_ALLOW_ROLLBACK=1 deploys anyway. Symlinks leaving the',
      'clone, YAML aliases on the edited keys and files over 1 MiB are refused.',
      'Commits with service, old -> new, digest, build URL and source link, and pushes; a push that loses a',
      'race is re-applied on the new tip (8 attempts, jittered). A tag that is already current makes no commit.',
    ],
    flags: [
      { name: 'repo', type: 'string', value: '<git-url>', required: true, description: 'The ops repository (any URL git can clone)' },
      { name: 'overlay', type: 'string', value: '<dir>', description: 'Overlay directory, relative to the repo root (deployTargets[].overlay)' },
      { name: 'path', type: 'string', value: '<file>', description: 'The kustomization file itself, instead of --overlay' },
      { name: 'image', type: 'string', value: '<name>', required: true, description: 'The pushed image, without tag' },
      { name: 'tag', type: 'string', value: '<sha>', required: true, description: 'The new tag (the full commit sha)' },
      { name: 'digest', type: 'string', value: '<sha256:…>', description: 'The pushed digest: recorded in the commit, and written with --pin-digest' },
      { name: 'digest-file', type: 'string', value: '<file>', description: 'Read --digest from this file (what `image push --digest-file` wrote)' },
      { name: 'ops-commit-file', type: 'string', value: '<file>', description: 'Write the ops-repo commit that carries the tag to this file (for deploy verify)' },
      { name: 'pin-digest', type: 'boolean', description: 'Write digest next to newTag (deployTargets[].pinDigest), so exactly the scanned image runs' },
      { name: 'create', type: 'boolean', description: 'Add an images[] entry when none matches' },
      { name: 'skip-render', type: 'boolean', description: 'Bump without kubectl/kustomize: only an entry named exactly the image is edited, and nothing proves the render' },
      { name: 'allow-rollback', type: 'boolean', description: 'Deploy a commit older than the one the overlay runs (also ENGEX_ALLOW_ROLLBACK=1)' },
      { name: 'branch', type: 'string', value: '<name>', description: "Branch to push (default: the repo's default branch)" },
      { name: 'project', type: 'string', value: '<p>', description: 'The service: its name, deployImageName and source URL go into the match and the commit' },
    ],
    positionals: [],
    output: [
      'bumped <file> <image>: <old> → <tag> in <repo> (<branch>) commit=<sha> attempts=<n>',
      'already at <tag>: <file> <image> in <repo> (<branch>); no commit',
      'on stderr: rendered by <kubectl kustomize>: <resource> <path> (<container>) <image>, one line per container of the service',
    ],
    env: ['BUILDKITE_COMMIT', 'BUILDKITE_BUILD_URL', 'ENGEX_ALLOW_ROLLBACK', 'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', DEADLINE_ENV.gitMs, 'TMPDIR'],
    exit: '0 bumped or already current, 1 refused rollback, 2 usage / kustomize missing / overlay missing / not a kustomization / no entry reaches the service / render mismatch / stale digest / symlink outside / alias / over 1 MiB, 4 git failure or rollback check impossible',
  },
  {
    name: 'deploy verify',
    summary: 'Wait until the environment serves the new revision (and ArgoCD reports it Synced and Healthy)',
    synopsis: '--url <base-url> [--argocd-server <url> --argocd-app <name>] [--revision <sha>]',
    details: [
      'Polls <url>/version until it reports the revision and <url>/readyz until it answers 200. With an ArgoCD',
      'application, also polls its REST API until the app is Synced (at --ops-commit, when given) and Healthy;',
      'the token comes from ARGOCD_AUTH_TOKEN and is never printed. Passes after --rounds consecutive rounds in',
      'which every source agrees (default 3: one lucky answer from a half-rolled-out service is not enough).',
      'Ends at the deadline with the last answers.',
    ],
    flags: [
      { name: 'url', type: 'string', value: '<base-url>', description: "The environment's base URL (deployTargets[].url)" },
      { name: 'revision', type: 'string', value: '<sha>', description: 'The commit that must be served (default: BUILDKITE_COMMIT, else HEAD)' },
      { name: 'argocd-server', type: 'string', value: '<url>', description: "ArgoCD's base URL" },
      { name: 'argocd-app', type: 'string', value: '<name>', description: 'The ArgoCD Application of this target' },
      { name: 'ops-commit', type: 'string', value: '<sha>', description: 'The ops-repo commit the bump pushed; ArgoCD must be Synced at it' },
      { name: 'ops-commit-file', type: 'string', value: '<file>', description: 'Read --ops-commit from this file (what deploy bump --ops-commit-file wrote)' },
      { name: 'timeout', type: 'string', value: '<duration>', description: 'Overall deadline, e.g. 10m, 90s (default 10m)' },
      { name: 'rounds', type: 'string', value: '<n>', description: 'Consecutive rounds in which every source must agree (default 3)' },
    ],
    positionals: [],
    output: ['verified <sha> after <n> s (<rounds> rounds): version serves <sha>; readyz HTTP 200; argocd sync Synced at <ops sha>, health Healthy', 'progress lines on stderr'],
    env: ['BUILDKITE_COMMIT', 'ARGOCD_AUTH_TOKEN'],
    exit: '0 verified, 1 not live by the deadline (the last answers are printed), 2 usage',
  },
  {
    name: 'ecr login',
    summary: 'docker login to the ECR registry with a GetAuthorizationToken password',
    synopsis: '',
    details: ['The password goes to `docker login --username AWS --password-stdin <host>` and is never printed.', 'With REGISTRY=host:port set there is nothing to log in to.'],
    flags: [],
    positionals: [],
    output: ['logged in to <host> (token expires <time>)', 'no login needed for plain registry <host>'],
    env: ['REGISTRY', 'AWS_* (the SDK default credential chain; AWS_ENDPOINT_URL_ECR)', DEADLINE_ENV.awsMs],
    exit: '0 ok, 2 config, 4 AWS or docker failure',
  },
  {
    name: 'ecr check',
    summary: 'Preflight the service repository: it exists, is IMMUTABLE and scans on push',
    synopsis: '--project <p> [--allow-mutable] [--annotation <out.md>]',
    details: [
      'ECR: DescribeRepositories in the configured account and region. Missing: exit 2 with the Terraform line',
      'to add, the file it goes in, and the account and region it looked in. MUTABLE: exit 1 (the idempotent',
      'push relies on IMMUTABLE tags) unless --allow-mutable. Scan on push off: a warning (the pipeline Trivy',
      'gate scans every image anyway). REGISTRY=host:port: GET /v2/ and the tags list; mutability and scan on',
      'push cannot be read there and are reported as not checked.',
    ],
    flags: [
      PROJECT,
      { name: 'allow-mutable', type: 'boolean', description: 'A MUTABLE repository is a warning, not an error (proposed config: registry.allowMutable)' },
      { name: 'annotation', type: 'string', value: '<out.md>', description: 'Also write the report as Markdown here (for buildkite-agent annotate)' },
    ],
    positionals: [],
    output: ['ecr check <repo> in account <a>, region <r> (<host>)', '<ok|note|warning|error>  <finding>   (one line each; the Terraform line when missing)'],
    env: [...IMAGE_ENV, 'AWS_* (the SDK default credential chain; AWS_ENDPOINT_URL_ECR)'],
    exit: '0 passed (warnings allowed), 1 MUTABLE, 2 repository missing or usage/config, 4 AWS or registry unreachable',
  },
  {
    name: 'deploy status',
    summary: 'What runs where: per service and deploy target, the deployed commit, its age and image',
    synopsis: '[--project <p>] [--format table|json] [--default-branch <name>] [--ops-repo <url>]',
    details: [
      'Also `engex-ci status`. Reads each overlay of the ops repo (one shallow clone per repo, within',
      'ENGEX_CI_GIT_DEADLINE), finds the kustomization under its three names and the service image entry,',
      "then asks the source repo (the workspace's git) for the commit's subject and age and how far the default",
      'branch is ahead, and the registry whether the image exists (its digest) and which newest commit of the',
      'branch has an image. A value whose source did not answer shows as "unreachable: <reason>", never a guess.',
    ],
    flags: [
      { name: 'project', type: 'string', value: '<p>', description: 'Only this service (default: every engex:service project)' },
      { name: 'format', type: 'string', value: 'table|json', description: 'table (default) or json (the same data, for scripts)' },
      {
        name: 'default-branch',
        type: 'string',
        value: '<name>',
        description: 'The branch "behind" counts against: origin/<name>, else <name> (default main; proposed config: defaultBranch)',
      },
      {
        name: 'ops-repo',
        type: 'string',
        value: '<url>',
        description: "Read every service's overlays from this repo instead of its configured opsRepo; {service} is replaced (local runs)",
      },
    ],
    positionals: [],
    output: ['SERVICE  TARGET  DEPLOYED  AGE  BEHIND  IMAGE  NEWEST IMAGE  SUBJECT, then [n] notes for values that could not be read'],
    env: ['REGISTRY', DEADLINE_ENV.gitMs, DEADLINE_ENV.registryMs, DEADLINE_ENV.awsMs, 'TMPDIR'],
    exit: '0 printed (unreachable values included), 2 usage/config',
  },
  {
    name: 'image list',
    summary: 'Recent images of a service: revision label, created time, size and digest',
    synopsis: '--project <p> [--limit <n>] [--format table|json]',
    details: [
      'Also `engex-ci images`. ECR: DescribeImages (newest pushed first), the revision label from each image',
      'config through the registry API. REGISTRY=host:port: the tags list plus each manifest and config',
      '(newest created first; at most 200 tags are inspected).',
    ],
    flags: [
      PROJECT,
      { name: 'limit', type: 'string', value: '<n>', description: 'How many images (default 10)' },
      { name: 'format', type: 'string', value: 'table|json', description: 'table (default) or json' },
    ],
    positionals: [],
    output: ['CREATED  REVISION  SIZE  DIGEST  TAGS'],
    env: IMAGE_ENV,
    exit: '0 printed, 1 the repository does not exist, 2 usage/config, 4 registry or AWS unreachable',
  },
  {
    name: 'nx-cache serve',
    summary: 'Serve a self-hosted Nx remote cache (NX_SELF_HOSTED_REMOTE_CACHE_SERVER) from a directory or an S3 bucket',
    synopsis: '--dir <path> | --s3-bucket <name> [--port <n>] [--host <addr>]',
    details: [
      "Nx's self-hosted cache API (Nx >= 20.8): PUT /v1/cache/<hash> stores a task's archive (200, not the OpenAPI",
      "document's 202: Nx's client accepts only 200), GET returns it (200, 404 when absent). Entries are write-once:",
      'a PUT for a stored hash is 409 and never replaces it; of concurrent PUTs one wins atomically (link(2) in a',
      'folder, a conditional write If-None-Match: * on S3, so any number of replicas can share one bucket). Only',
      "well-formed archives as Nx writes them are stored (gzip + tar with a 4-byte 'code' entry); anything else is",
      '400. An entry that fails to read back is a miss and is quarantined. Content-Length is required and must match',
      'the bytes received; bodies over --max-body-bytes are 413; a full disk is 507. Hashes are 1-128 hex/decimal.',
      'Tokens (Authorization: Bearer): ENGEX_NX_CACHE_WRITE_TOKEN may read and write (trusted queues),',
      'ENGEX_NX_CACHE_READ_TOKEN may only read (the untrusted queue: it cannot poison the cache). Neither set:',
      'an open cache, allowed only on a loopback address and announced on stderr. Self-protection: headers within',
      '10 s, idle connections closed after 30 s, a response must be sent within 5 min, --max-connections and',
      '--max-connections-per-ip. Stops cleanly on SIGINT/SIGTERM. S3 credentials: the AWS SDK chain (instance role).',
    ],
    flags: [
      { name: 'dir', type: 'string', value: '<path>', description: 'Directory holding the entries (created when missing); one host only' },
      { name: 's3-bucket', type: 'string', value: '<name>', description: 'S3 bucket holding the entries, shared by every replica' },
      { name: 's3-prefix', type: 'string', value: '<prefix>', description: 'Key prefix in the bucket (default none), e.g. nx/' },
      { name: 's3-region', type: 'string', value: '<region>', description: 'Bucket region (default AWS_REGION, else us-east-1)' },
      { name: 's3-endpoint', type: 'string', value: '<url>', description: 'S3-compatible endpoint instead of AWS (path-style addressing)' },
      { name: 'max-age', type: 'string', value: '<14d|36h>', description: 'With --dir: remove entries neither read nor written for this long (default never)' },
      { name: 'port', type: 'string', value: '<n>', description: 'TCP port (default 0: a free one, printed)' },
      { name: 'host', type: 'string', value: '<addr>', description: 'Address to listen on (default 127.0.0.1; 0.0.0.0 for agents on other hosts, tokens required)' },
      { name: 'max-body-bytes', type: 'string', value: '<n>', description: 'Largest upload accepted (default 2147483648, 2 GiB)' },
      { name: 'max-connections', type: 'string', value: '<n>', description: 'Open connections at most (default 512); keep it under the descriptor limit' },
      { name: 'max-connections-per-ip', type: 'string', value: '<n>', description: 'Open connections per client address (default 64)' },
    ],
    positionals: [],
    output: [
      'nx-cache listening on http://<host>:<port> <dir=<path>|s3://<bucket>/<prefix>> auth=<read+write tokens|write token|OPEN (no tokens)>   (stderr)',
      'nx-cache <GET|PUT> <hash prefix> <status> <bytes> B <ms> ms   (stderr, one line per request, no tokens)',
    ],
    env: ['ENGEX_NX_CACHE_READ_TOKEN', 'ENGEX_NX_CACHE_WRITE_TOKEN', 'AWS_REGION'],
    exit: '0 stopped by SIGINT/SIGTERM, 2 usage (bad flag, open cache on a public address, weak token), 4 cannot listen',
  },
  {
    name: 'nx-cache proxy',
    summary: 'Agent-local proxy to the shared Nx cache: cache trouble becomes a miss, never a failed build',
    synopsis: '--upstream <url> [--url-file <path>] [--events <path>]',
    details: [
      'Listens on 127.0.0.1 for Nx (point NX_SELF_HOSTED_REMOTE_CACHE_SERVER at it; Nx keeps sending its token,',
      'which is forwarded). Nx 23 fails the run on any unexpected cache answer and has no timeout, so the proxy',
      'answers a miss (GET 404) or "stored" (PUT 200) whenever the upstream is down, slow (--answer-deadline,',
      '--get-deadline, --put-deadline), erroring (5xx, 507 full disk), refusing (401/403 on GET) or sends what is not an',
      'Nx archive; after a refused connection or a missed deadline it skips the upstream for 60 s. Each such request',
      'is appended to --events as one JSON line for `nx-cache annotate`. The agent hooks in agent-hooks/ run it.',
    ],
    flags: [
      { name: 'upstream', type: 'string', value: '<url>', required: true, description: 'The shared cache, e.g. https://nx-cache.internal:8443' },
      { name: 'port', type: 'string', value: '<n>', description: 'TCP port on 127.0.0.1 (default 0: a free one)' },
      { name: 'url-file', type: 'string', value: '<path>', description: 'Write the proxy URL here once it listens (for the environment hook)' },
      { name: 'events', type: 'string', value: '<path>', description: 'Append one JSON line per degraded request' },
      { name: 'answer-deadline', type: 'string', value: '<s>', description: 'Seconds for the upstream to start answering a GET (default 2)' },
      { name: 'get-deadline', type: 'string', value: '<s>', description: 'Seconds for one upstream GET, body included (default 30)' },
      { name: 'put-deadline', type: 'string', value: '<s>', description: 'Seconds for one upstream PUT, body included (default 60)' },
    ],
    positionals: [],
    output: [
      'nx-cache proxy listening on http://127.0.0.1:<port> -> <upstream origin>   (stderr)',
      'nx-cache proxy <GET|PUT> <hash prefix> -> <404|200> (<reason>)   (stderr, one line per degraded request)',
    ],
    env: [],
    exit: '0 stopped by SIGINT/SIGTERM, 2 usage (bad --upstream, non-loopback host), 4 cannot listen',
  },
  {
    name: 'nx-cache annotate',
    summary: "Markdown for buildkite-agent annotate from the proxy's degraded requests (nothing when none)",
    synopsis: '--events <path> [--job <label>]',
    details: ['Groups the events `nx-cache proxy --events` wrote by reason: "Nx remote cache unavailable for N requests".'],
    flags: [
      { name: 'events', type: 'string', value: '<path>', required: true, description: "The proxy's events file (a missing file means no events)" },
      { name: 'job', type: 'string', value: '<label>', description: 'Job label shown in the annotation' },
    ],
    positionals: [],
    output: ['Markdown, or nothing when the cache never degraded'],
    env: [],
    exit: '0 printed (or nothing), 2 usage',
  },
] as const satisfies readonly CommandSpec[];

/** Single-word spellings the issue asked for; `main` maps them to their two-word command. */
export const COMMAND_ALIASES: Readonly<Record<string, readonly [string, string]>> = {
  status: ['deploy', 'status'],
  images: ['image', 'list'],
};

export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'workspace', type: 'string', value: '<dir>', description: 'Workspace root (default: nearest directory at or above cwd with nx.json)' },
  { name: 'help', type: 'boolean', description: 'Show help for engex-ci or for a command' },
];
