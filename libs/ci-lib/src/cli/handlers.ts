import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DOCKERFILE, formatBytes, planDockerBuild } from '../lib/build-image.js';
import { resolveServiceConfig, trustedBranchesFor, type ServiceConfig, type WorkspaceConfig } from '@engex/workspace-config';
import { parseBuildContext, type BuildContext } from '../lib/context.js';
import { deployBump } from '../lib/deploy-bump.js';
import { readCommitRelation } from '../lib/deploy-guard.js';
import { verifyDeployment } from '../lib/deploy-verify.js';
import { Secret } from '../lib/secret.js';
import { readDeployStatus, renderStatusTable } from '../lib/deploy-status.js';
import { createDocker, type Docker } from '../lib/docker.js';
import { parseDeadlines, type Deadlines } from '../lib/deadlines.js';
import { planEcrCheck, renderEcrCheckMarkdown, renderEcrCheckText, type RepositoryFacts } from '../lib/ecr-check.js';
import { createEcrClient, describeEcrImages, describeEcrRepository, readEcrCredentials, type EcrClientLike, type EcrClientOptions } from '../lib/ecr-credentials.js';
import { PolicyFailedError, ScanReportError, UnprovenImageError, UsageError, type ExitCode } from '../lib/errors.js';
import { annotateRefusedPush, createPushProver, pushRecordKey, recordPush, type PushProverOptions } from '../lib/push-proof.js';
import { NX_CACHE_HANDLERS } from './nx-cache.js';
import { findFreePort } from '../lib/free-port.js';
import { registryTargetFor, type RegistryTarget } from '@engex/workspace-config';
import { planImageRefs, type ImageRefs } from '../lib/image-ref.js';
import { planImageMetadata, resolveCreated } from '../lib/labels.js';
import { listEcrImages, listPlainImages, renderImagesTable } from '../lib/list-images.js';
import { stringifyForTerminal } from '../lib/terminal-text.js';
import { pushImage, renderPushResult } from '../lib/push-image.js';
import { readWorkspaceConfig, type BuildInfo } from '@engex/workspace-config';
import { createRegistryClient, type RegistryClient } from '../lib/registry-client.js';
import type { RetryOptions } from '../lib/retry.js';
import { renderScanMarkdown, renderScanSummary } from '../lib/render-scan-markdown.js';
import { runCommand } from '../lib/run-command.js';
import { evaluateScan, parseSeverityList, parseTrivyIgnore, utcDate } from '../lib/scan-policy.js';
import { smokeImage } from '../lib/smoke-image.js';
import { FULL_SHA_PATTERN, assertFullSha, planTags, semverFromGitTag } from '../lib/tags.js';
import { parseTrivyReportText, type TrivyReport } from '../lib/trivy-report.js';
import { mergeScanReports } from '../lib/scan-merge.js';
import { agentGuard } from './agent-guard.js';
import { findWorkspaceRoot, readServiceConfig, readWorkspaceProjects } from '@engex/workspace-config';

/** Everything a command may touch, injected so tests can capture output and fake AWS. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  now(): Date;
  /** Default: the docker CLI, progress to stderr. */
  docker?: Docker;
  /** Default: the AWS SDK's ECRClient for the region (with the AWS deadline). The one thing tests replace. */
  ecrClient?: (region: string, options: EcrClientOptions) => Promise<EcrClientLike>;
  /** Registry and push retry timing. */
  retry?: Partial<RetryOptions>;
  /** Package version and commit for `--version`; a function so git runs only when asked. */
  build?: () => BuildInfo;
}

export interface Invocation {
  flags: Record<string, string | boolean>;
  positionals: string[];
  workspace?: string;
}

export type Handler = (inv: Invocation, io: CliIo) => Promise<ExitCode>;

/** The proof lookups of `image push` (meta-data, then Buildkite's API): each within this. */
const PUSH_PROOF_DEADLINE_MS = 30_000;

const line = (io: CliIo, text: string) => io.stdout(`${text}\n`);
const note = (io: CliIo, text: string) => io.stderr(`${text}\n`);
const str = (inv: Invocation, name: string): string | undefined => (typeof inv.flags[name] === 'string' ? (inv.flags[name] as string) : undefined);

function workspaceRoot(inv: Invocation, io: CliIo): string {
  if (inv.workspace === undefined) return findWorkspaceRoot(io.cwd);
  const root = resolve(io.cwd, inv.workspace);
  if (!existsSync(join(root, 'nx.json'))) throw new UsageError(`--workspace ${inv.workspace}: no nx.json in ${root}`);
  return root;
}

/** BUILDKITE_COMMIT, or the workspace HEAD when it is unset or `HEAD` (manual builds, local runs). */
async function resolveCommit(ctx: BuildContext, root: string): Promise<string> {
  if (ctx.commit !== undefined && ctx.commit !== 'HEAD') return assertFullSha(ctx.commit, 'BUILDKITE_COMMIT');
  const head = await runCommand('git', ['rev-parse', 'HEAD'], { cwd: root, allowFailure: true }).catch(() => undefined);
  if (!head || head.exitCode !== 0)
    throw new UsageError(`BUILDKITE_COMMIT is ${ctx.commit ? 'HEAD' : 'not set'} and \`git rev-parse HEAD\` failed in ${root}; set BUILDKITE_COMMIT to the full sha`);
  return assertFullSha(head.stdout.trim(), 'git rev-parse HEAD');
}

interface ImageSetup {
  root: string;
  config: WorkspaceConfig;
  ctx: BuildContext;
  service: ServiceConfig;
  sha: string;
  refs: ImageRefs;
  docker: Docker;
}

async function imageSetup(inv: Invocation, io: CliIo): Promise<ImageSetup> {
  const root = workspaceRoot(inv, io);
  const config = await readWorkspaceConfig(root);
  const ctx = parseBuildContext(io.env);
  const service = await readServiceConfig(root, config, str(inv, 'project')!);
  const sha = await resolveCommit(ctx, root);
  const tags = planTags(
    {
      sha,
      ...(ctx.branch !== undefined ? { branch: ctx.branch } : {}),
      ...(ctx.pullRequest !== undefined ? { pullRequest: ctx.pullRequest } : {}),
      ...(ctx.tag !== undefined ? { gitTag: ctx.tag } : {}),
    },
    config.tags,
  );
  const registry: RegistryTarget = ctx.registry ?? registryTargetFor(config);
  const refs = planImageRefs(registry, service.repository, tags);
  const docker = io.docker ?? createDocker({ env: { ...io.env }, onOutput: (t) => io.stderr(t) });
  return { root, config, ctx, service, sha, refs, docker };
}

/** The ECR API host of a region, named when the AWS call misses its deadline. */
const ecrApiHost = (region: string): string => `api.ecr.${region}.amazonaws.com`;

async function ecrApi(region: string, deadlines: Deadlines, io: CliIo): Promise<{ client: EcrClientLike; call: { deadlineMs: number; host: string } }> {
  // The SDK's own service-endpoint variables, read here from io.env so tests and the CLI agree.
  const endpoint = io.env['AWS_ENDPOINT_URL_ECR'] || io.env['AWS_ENDPOINT_URL'] || undefined;
  const client = await (io.ecrClient ?? createEcrClient)(region, { deadlineMs: deadlines.awsMs, ...(endpoint ? { endpoint } : {}) });
  return { client, call: { deadlineMs: deadlines.awsMs, host: endpoint ?? ecrApiHost(region) } };
}

async function ecrCredentials(region: string, deadlines: Deadlines, io: CliIo) {
  const { client, call } = await ecrApi(region, deadlines, io);
  return readEcrCredentials(client, call);
}

function registryClient(registry: RegistryTarget, io: CliIo): RegistryClient {
  const deadlines = parseDeadlines(io.env);
  return createRegistryClient({
    registry,
    deadlineMs: deadlines.registryMs,
    ...(registry.kind === 'ecr' ? { credentials: async () => ecrCredentials(registry.ecr.region, deadlines, io) } : {}),
    ...(io.retry ? { retry: io.retry } : {}),
    log: (l) => {
      if (l.startsWith('retrying')) note(io, `registry: ${l}`);
    },
  });
}

const imageBuild: Handler = async (inv, io) => {
  const from = str(inv, 'source-date-epoch');
  if (from !== undefined && from !== 'commit')
    throw new UsageError(`--source-date-epoch: expected "commit", got ${JSON.stringify(from)}; to pin a time, set SOURCE_DATE_EPOCH instead`);
  const { root, config, ctx, service, sha, refs, docker } = await imageSetup(inv, io);
  const bundle = join(root, service.bundle);
  if (!existsSync(bundle) || !statSync(bundle).isDirectory()) {
    throw new UsageError(`${service.bundle} does not exist; build the bundle first: npx nx run ${service.project}:build`);
  }
  if (!existsSync(join(root, DOCKERFILE))) throw new UsageError(`${DOCKERFILE} not found in ${root}; the shared Dockerfile is required`);
  // An explicit SOURCE_DATE_EPOCH wins; `commit` only replaces the clock, which a retried job never repeats.
  let sourceDateEpoch = ctx.sourceDateEpoch;
  if (sourceDateEpoch === undefined && from === 'commit') {
    const seconds = await commitEpoch(root, sha);
    if (seconds === undefined)
      throw new UsageError(`--source-date-epoch commit: \`git show -s --format=%ct ${sha}\` failed in ${root}; build in a checkout that has the commit, or set SOURCE_DATE_EPOCH`);
    sourceDateEpoch = seconds;
  }
  const timestamp = sourceDateEpoch !== undefined ? resolveCreated(io.now(), sourceDateEpoch) : await sbomTime(ctx, root, sha, io);
  const sbom = await (await sbomWriter())({ root, service, sha, timestamp });
  note(io, `sbom ${sbom.file} ${sbom.digest} packages=${sbom.packages.length}`);
  const nodeImage = ctx.nodeImage ?? config.nodeImage;
  const base = await docker.inspectImage(nodeImage);
  const baseDigest = base?.repoDigests[0]?.split('@')[1];
  const metadata = planImageMetadata({
    service,
    workspace: config,
    sha,
    buildTime: io.now(),
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
    ...(ctx.tag && semverFromGitTag(ctx.tag) ? { version: semverFromGitTag(ctx.tag)! } : {}),
    ...(ctx.buildUrl !== undefined ? { buildUrl: ctx.buildUrl } : {}),
    ...(ctx.buildNumber !== undefined ? { buildNumber: ctx.buildNumber } : {}),
    ...(ctx.pipelineSlug !== undefined ? { pipelineSlug: ctx.pipelineSlug } : {}),
    ...(ctx.branch !== undefined ? { branch: ctx.branch } : {}),
    baseImage: { name: nodeImage, ...(baseDigest ? { digest: baseDigest } : {}) },
    ...((await readmeAtRevision(root, sha, service.root)) ? { documentationPath: `${service.root}/README.md` } : {}),
    sbomDigest: sbom.digest,
  });
  const plan = planDockerBuild({
    root,
    service,
    refs,
    metadata,
    nodeImage,
    ...(io.env['DOCKER_BUILDKIT'] !== undefined ? { dockerBuildkit: io.env['DOCKER_BUILDKIT'] } : {}),
    buildxAvailable: io.env['DOCKER_BUILDKIT'] !== undefined || (await docker.buildxAvailable()),
  });
  note(io, `building ${refs.dest} from ${service.bundle} on ${nodeImage}${plan.env['DOCKER_BUILDKIT'] === '0' ? ' (legacy builder: buildx not installed)' : ''}`);
  await docker.build(plan.args, plan.env);
  const image = await docker.inspectImage(refs.dest);
  if (!image) throw new UsageError(`docker build finished but ${refs.dest} is not in the local engine`);
  line(io, `built ${refs.dest} image=${image.id} size=${image.size} (${formatBytes(image.size)})`);
  for (const ref of [refs.local, ...refs.tags.map((t) => `${refs.name}:${t}`)]) line(io, `tagged ${ref}`);
  return 0;
};

/**
 * Loaded on first use: the CycloneDX library stays external to the bundle (its validator reads the
 * schema files shipped beside it), so only the commands that write an SBOM need node_modules.
 */
const sbomWriter = async () => (await import('../lib/write-sbom.js')).writeSbom;

/**
 * The SBOM's timestamp: SOURCE_DATE_EPOCH, else the commit time, so a rebuild of the same commit
 * writes the same bytes (and the same digest label). The clock only when git cannot say.
 */
async function sbomTime(ctx: BuildContext, root: string, sha: string, io: CliIo): Promise<Date> {
  if (ctx.sourceDateEpoch !== undefined) return resolveCreated(io.now(), ctx.sourceDateEpoch);
  const seconds = await commitEpoch(root, sha);
  return seconds !== undefined ? new Date(Number(seconds) * 1000) : io.now();
}

/**
 * Whether `<service root>/README.md` is in the commit itself (not merely in the working tree), so
 * the `documentation` label never links to a page that 404s at that revision.
 */
async function readmeAtRevision(root: string, sha: string, serviceRoot: string): Promise<boolean> {
  const found = await runCommand('git', ['cat-file', '-e', `${sha}:${serviceRoot}/README.md`], { cwd: root, allowFailure: true }).catch(() => undefined);
  return found?.exitCode === 0;
}

/** The commit's committer time in Unix seconds, or undefined when git cannot say. */
async function commitEpoch(root: string, sha: string): Promise<string | undefined> {
  const shown = await runCommand('git', ['show', '-s', '--format=%ct', sha], { cwd: root, allowFailure: true }).catch(() => undefined);
  const seconds = shown?.exitCode === 0 ? shown.stdout.trim() : '';
  return /^\d+$/.test(seconds) ? seconds : undefined;
}

const sbomCommand: Handler = async (inv, io) => {
  const root = workspaceRoot(inv, io);
  const config = await readWorkspaceConfig(root);
  const ctx = parseBuildContext(io.env);
  const service = await readServiceConfig(root, config, str(inv, 'project')!);
  const sha = await resolveCommit(ctx, root);
  const sbom = await (await sbomWriter())({ root, service, sha, timestamp: await sbomTime(ctx, root, sha, io) });
  line(io, `sbom ${sbom.file} ${sbom.digest} packages=${sbom.packages.length}`);
  return 0;
};

const imagePush: Handler = async (inv, io) => {
  const { sha, refs, docker, ctx, config, service } = await imageSetup(inv, io);
  const proving: PushProverOptions = {
    env: { ...io.env },
    onBuildkite: ctx.onBuildkite,
    key: pushRecordKey(service.service),
    revision: sha,
    trustedBranches: trustedBranchesFor(config, ctx.defaultBranch ?? 'main'),
    ...(ctx.api ? { api: ctx.api } : {}),
    ...(io.env['ENGEX_CI_BUILDKITE_API_URL'] ? { apiBaseUrl: io.env['ENGEX_CI_BUILDKITE_API_URL'] } : {}),
    deadlineMs: PUSH_PROOF_DEADLINE_MS,
    ...(io.retry ? { retry: io.retry } : {}),
    log: (l) => note(io, l),
  };
  let results;
  try {
    results = await pushImage({ refs, revision: sha, docker, registry: registryClient(refs.registry, io), prove: createPushProver(proving), log: (l) => note(io, l) });
  } catch (error) {
    if (error instanceof UnprovenImageError) {
      await annotateRefusedPush(proving, `image-push-${service.service}`, `**${service.service}**: image push refused.\n\n\`\`\`\n${error.message}\n\`\`\`\n`);
    }
    throw error;
  }
  const pushed = results.find((r) => r.tag === sha && r.status === 'push');
  if (pushed) await recordPush(proving, pushed.manifestDigest);
  // Before the result lines: a runner takes the last line as the step's outcome.
  const digestFile = str(inv, 'digest-file');
  if (digestFile !== undefined) {
    const own = results.find((r) => r.tag === sha) ?? results[0];
    if (own === undefined) throw new UsageError('image push pushed no tag, so there is no digest to write');
    await mkdir(dirname(resolve(io.cwd, digestFile)), { recursive: true });
    await writeFile(resolve(io.cwd, digestFile), `${own.manifestDigest}\n`);
    note(io, `digest ${own.manifestDigest} written to ${digestFile}`);
  }
  for (const result of results) line(io, renderPushResult(result));
  return 0;
};

const imageExists: Handler = async (inv, io) => {
  const { sha, refs } = await imageSetup(inv, io);
  const head = await registryClient(refs.registry, io).headManifest(refs.repository, sha);
  if (head.exists) {
    line(io, `exists ${refs.dest}@${head.digest}`);
    return 0;
  }
  line(io, `absent ${refs.dest}`);
  return 1;
};

const imageSmoke: Handler = async (inv, io) => {
  const { sha, refs, docker } = await imageSetup(inv, io);
  const port = await findFreePort();
  const result = await smokeImage({ docker, reference: refs.dest, revision: sha, port, pull: inv.flags['local'] !== true, log: (l) => note(io, l) });
  line(io, `smoke ok ${result.reference} revision=${sha} port=${result.port}`);
  return 0;
};

const imageEnv: Handler = async (inv, io) => {
  const { refs } = await imageSetup(inv, io);
  for (const [key, value] of Object.entries(refs.env)) line(io, `${key}=${value}`);
  return 0;
};

async function readTrivyReport(arg: string, io: CliIo): Promise<TrivyReport> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, arg), 'utf8');
  } catch (error) {
    throw new ScanReportError(arg, [`cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  return parseTrivyReportText(text, arg);
}

const scanReport: Handler = async (inv, io) => {
  const root = workspaceRoot(inv, io);
  const config = await readWorkspaceConfig(root);
  const failOn = str(inv, 'fail-on') !== undefined ? parseSeverityList(str(inv, 'fail-on')!) : config.trivy.failOn;
  const imageReport = await readTrivyReport(inv.positionals[0]!, io);
  const sbomArg = str(inv, 'sbom-report');
  const report = sbomArg === undefined ? imageReport : mergeScanReports(imageReport, await readTrivyReport(sbomArg, io));
  const ignoreUnfixed = typeof inv.flags['ignore-unfixed'] === 'boolean' ? inv.flags['ignore-unfixed'] : config.trivy.ignoreUnfixed;
  const ignoreArg = str(inv, 'trivyignore');
  const ignoreFile = ignoreArg !== undefined ? resolve(io.cwd, ignoreArg) : join(root, '.trivyignore');
  let ignores: ReturnType<typeof parseTrivyIgnore> = [];
  if (ignoreArg !== undefined || existsSync(ignoreFile)) {
    let ignoreText: string;
    try {
      ignoreText = await readFile(ignoreFile, 'utf8');
    } catch (error) {
      throw new UsageError(`--trivyignore ${ignoreArg}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    ignores = parseTrivyIgnore(ignoreText, ignoreArg ?? '.trivyignore');
  }
  const evaluation = evaluateScan(report, { failOn, ignoreUnfixed, ignores, today: utcDate(io.now()) });
  const markdown = renderScanMarkdown(evaluation, { trivyVersion: report.scannerVersion ?? `${config.trivy.version} (pinned)` });
  const annotation = str(inv, 'annotation');
  if (annotation !== undefined) {
    await writeFile(resolve(io.cwd, annotation), markdown);
    note(io, `annotation written to ${annotation}`);
  } else io.stdout(markdown);
  const summary = renderScanSummary(evaluation);
  if (!evaluation.passed) throw new PolicyFailedError(summary);
  note(io, summary);
  return 0;
};

const deployBumpHandler: Handler = async (inv, io) => {
  const root = workspaceRoot(inv, io);
  const config = await readWorkspaceConfig(root);
  const ctx = parseBuildContext(io.env);
  const tag = str(inv, 'tag')!;
  const project = str(inv, 'project');
  const service = project !== undefined ? await readServiceConfig(root, config, project) : undefined;
  const overlay = str(inv, 'overlay') ?? str(inv, 'path');
  if (overlay === undefined) throw new UsageError('deploy bump needs --overlay <dir> (the overlay directory in the ops repo)');
  const digest = str(inv, 'digest') ?? (await readDigestFile(io, str(inv, 'digest-file')));
  const revision = ctx.commit !== undefined && ctx.commit !== 'HEAD' ? ctx.commit : FULL_SHA_PATTERN.test(tag) ? tag : await resolveCommit(ctx, root);
  const allowRollback = inv.flags['allow-rollback'] === true || io.env['ENGEX_ALLOW_ROLLBACK'] === '1' || io.env['ENGEX_ALLOW_ROLLBACK'] === 'true';
  const image = str(inv, 'image')!;
  const branch = str(inv, 'branch');
  const deadlines = parseDeadlines(io.env);
  const result = await deployBump({
    deadlineMs: deadlines.gitMs,
    ...(io.env['TMPDIR'] ? { tmpRoot: io.env['TMPDIR'] } : {}),
    repo: str(inv, 'repo')!,
    overlay,
    image,
    tag,
    ...(service && service.deployImageName !== image ? { aliases: [service.deployImageName] } : {}),
    ...(digest !== undefined ? { digest } : {}),
    ...(inv.flags['pin-digest'] === true ? { pinDigest: true } : {}),
    ...(inv.flags['create'] === true ? { create: true } : {}),
    ...(inv.flags['skip-render'] === true ? { renderer: 'skip' as const } : {}),
    relation: (current) => readCommitRelation(current, tag, { cwd: root, env: { ...io.env }, deadlineMs: deadlines.gitMs }),
    allowRollback,
    message: {
      service: service?.service ?? image.split('/').pop()!,
      revision,
      sourceUrl: service?.source ?? config.source,
      ...(ctx.buildUrl !== undefined ? { buildUrl: ctx.buildUrl } : {}),
    },
    ...(branch !== undefined ? { branch } : {}),
    author: { name: io.env['GIT_AUTHOR_NAME'] || 'engex-ci', email: io.env['GIT_AUTHOR_EMAIL'] || 'engex-ci@noreply.hspt.io' },
    env: { ...io.env },
    ...(io.retry ? { retry: io.retry } : {}),
    log: (l) => note(io, l),
  });
  if (result.proof) for (const c of result.proof.containers) note(io, `rendered by ${result.proof.renderer}: ${c.resource} ${c.path} (${c.container}) ${c.image}`);
  else note(io, 'not proven by a render (--skip-render): check the overlay with kubectl kustomize');
  if (result.status === 'already') {
    await writeOpsCommit(io, str(inv, 'ops-commit-file'), result.commit);
    line(io, `already at ${result.tag}: ${result.path} ${result.image} in ${result.repo} (${result.branch}); no commit`);
  } else {
    const change = result.created ? `created entry with newTag ${result.tag}` : `${result.previousTag ?? '(no tag)'} → ${result.tag}`;
    await writeOpsCommit(io, str(inv, 'ops-commit-file'), result.commit);
    line(io, `bumped ${result.path} ${result.image}: ${change} in ${result.repo} (${result.branch}) commit=${result.commit} attempts=${result.attempts}`);
  }
  return 0;
};

/** `--ops-commit-file`: the ops-repo commit that carries the tag, for `deploy verify` (ArgoCD Synced at it). */
async function writeOpsCommit(io: CliIo, file: string | undefined, commit: string): Promise<void> {
  if (file === undefined) return;
  await mkdir(dirname(resolve(io.cwd, file)), { recursive: true });
  await writeFile(resolve(io.cwd, file), `${commit}\n`);
}

/** A full commit sha another step recorded in a file (`deploy bump --ops-commit-file`, meta-data). */
async function readShaFile(io: CliIo, flag: string, file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const text = await readFile(resolve(io.cwd, file), 'utf8').catch((error: Error) => {
    throw new UsageError(`--${flag} ${file}: cannot read it (${error.message})`);
  });
  const sha = text.trim();
  if (!FULL_SHA_PATTERN.test(sha)) throw new UsageError(`--${flag} ${file}: expected a full commit sha, got ${JSON.stringify(sha.slice(0, 80))}`);
  return sha;
}

/** `--digest-file`: the digest another step recorded (`image push --digest-file`, meta-data). */
async function readDigestFile(io: CliIo, file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(`--digest-file ${file}: cannot read it (${(error as Error).message}); the image step records it with image push --digest-file`);
  }
  const digest = text.trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new UsageError(`--digest-file ${file}: expected sha256:<64 hex>, got ${JSON.stringify(digest.slice(0, 80))}`);
  return digest;
}

/** `--rounds`: a whole number of consecutive agreeing rounds, 1 to 100. */
function parseRounds(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 100)) throw new UsageError(`--rounds ${JSON.stringify(value)} must be a whole number from 1 to 100 (consecutive rounds in which every source agrees)`);
  return n;
}

/** `10m`, `90s`, `1500ms` or plain milliseconds. */
function parseDuration(flag: string, value: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(value);
  if (!m) throw new UsageError(`--${flag} ${JSON.stringify(value)} is not a duration; use e.g. 10m, 90s or 1500ms`);
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 's' ? 1000 : 1);
}

const deployVerify: Handler = async (inv, io) => {
  const root = workspaceRoot(inv, io);
  const ctx = parseBuildContext(io.env);
  const revision = str(inv, 'revision') ?? (await resolveCommit(ctx, root));
  assertFullSha(revision, '--revision');
  const url = str(inv, 'url');
  const server = str(inv, 'argocd-server');
  const application = str(inv, 'argocd-app');
  if ((server === undefined) !== (application === undefined)) throw new UsageError('--argocd-server and --argocd-app go together');
  const token = io.env['ARGOCD_AUTH_TOKEN'];
  if (server !== undefined && !token) throw new UsageError('ArgoCD needs a token: set ARGOCD_AUTH_TOKEN in the agent environment (never in the pipeline YAML)');
  const opsCommit = str(inv, 'ops-commit') ?? (await readShaFile(io, 'ops-commit-file', str(inv, 'ops-commit-file')));
  const result = await verifyDeployment({
    ...(url !== undefined ? { url } : {}),
    revision,
    ...(server !== undefined && application !== undefined ? { argocd: { server, application, token: new Secret(token!), ...(opsCommit !== undefined ? { opsCommit } : {}) } } : {}),
    deadlineMs: parseDuration('timeout', str(inv, 'timeout') ?? '10m'),
    ...(str(inv, 'rounds') !== undefined ? { agreeRounds: parseRounds(str(inv, 'rounds')!) } : {}),
    log: (l) => note(io, l),
  });
  line(
    io,
    `verified ${revision} after ${Math.round(result.elapsedMs / 1000)} s (${result.rounds} round${result.rounds === 1 ? '' : 's'}): ${result.observations.map((o) => `${o.source} ${o.detail}`).join('; ')}`,
  );
  return 0;
};

const ecrLogin: Handler = async (inv, io) => {
  const root = workspaceRoot(inv, io);
  const config = await readWorkspaceConfig(root);
  const ctx = parseBuildContext(io.env);
  const deadlines = parseDeadlines(io.env);
  if (ctx.registry) {
    line(io, `no login needed for plain registry ${ctx.registry.host}`);
    return 0;
  }
  const target = registryTargetFor(config);
  if (target.kind !== 'ecr') return 0;
  const credentials = await ecrCredentials(target.ecr.region, deadlines, io);
  const docker = io.docker ?? createDocker({ env: { ...io.env } });
  await docker.login(target.host, credentials.username, credentials.password);
  line(io, `logged in to ${target.host}${credentials.expiresAt ? ` (token expires ${credentials.expiresAt.toISOString()})` : ''}`);
  return 0;
};

const ecrCheck: Handler = async (inv, io) => {
  const root = workspaceRoot(inv, io);
  const config = await readWorkspaceConfig(root);
  const ctx = parseBuildContext(io.env);
  const service = await readServiceConfig(root, config, str(inv, 'project')!);
  const registry = ctx.registry ?? registryTargetFor(config);
  let facts: RepositoryFacts;
  if (registry.kind === 'plain') {
    const client = registryClient(registry, io);
    await client.ping();
    const tags = await client.listTags(service.repository);
    facts = { kind: 'plain', host: registry.host, repository: service.repository, tags: tags?.length };
  } else {
    const { client, call } = await ecrApi(registry.ecr.region, parseDeadlines(io.env), io);
    const repo = await describeEcrRepository(client, registry.ecr.account, service.repository, call);
    facts = { kind: 'ecr', account: registry.ecr.account, region: registry.ecr.region, host: registry.host, repository: service.repository, facts: repo };
  }
  const result = planEcrCheck(facts, { allowMutable: inv.flags['allow-mutable'] === true, service: service.service, source: service.source });
  io.stdout(renderEcrCheckText(result));
  const annotation = str(inv, 'annotation');
  if (annotation !== undefined) {
    await writeFile(resolve(io.cwd, annotation), renderEcrCheckMarkdown(result));
    note(io, `annotation written to ${annotation}`);
  }
  return result.exitCode;
};

function formatFlag(inv: Invocation): 'table' | 'json' {
  const format = str(inv, 'format') ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format must be table or json, got ${JSON.stringify(format)}`);
  return format;
}

const deployStatus: Handler = async (inv, io) => {
  const root = workspaceRoot(inv, io);
  const config = await readWorkspaceConfig(root);
  const ctx = parseBuildContext(io.env);
  const format = formatFlag(inv);
  const project = str(inv, 'project');
  const configured =
    project !== undefined
      ? [await readServiceConfig(root, config, project)]
      : (await readWorkspaceProjects(root)).flatMap((p) => resolveServiceConfig(config, p) ?? []).sort((a, b) => a.service.localeCompare(b.service));
  const opsRepo = str(inv, 'ops-repo');
  const services = opsRepo === undefined ? configured : configured.map((s) => ({ ...s, opsRepo: opsRepo.replaceAll('{service}', s.service) }));
  const deadlines = parseDeadlines(io.env);
  const rows = await readDeployStatus({
    services,
    root,
    defaultBranch: str(inv, 'default-branch') ?? 'main',
    registry: registryClient(ctx.registry ?? registryTargetFor(config), io),
    now: io.now(),
    gitDeadlineMs: deadlines.gitMs,
    env: { ...io.env },
    ...(io.retry ? { retry: io.retry } : {}),
    ...(io.env['TMPDIR'] ? { tmpRoot: io.env['TMPDIR'] } : {}),
  });
  io.stdout(format === 'json' ? `${stringifyForTerminal({ now: io.now().toISOString(), rows })}\n` : renderStatusTable(rows));
  return 0;
};

const imageList: Handler = async (inv, io) => {
  const root = workspaceRoot(inv, io);
  const config = await readWorkspaceConfig(root);
  const ctx = parseBuildContext(io.env);
  const service = await readServiceConfig(root, config, str(inv, 'project')!);
  const format = formatFlag(inv);
  const limitText = str(inv, 'limit') ?? '10';
  if (!/^[1-9]\d{0,3}$/.test(limitText)) throw new UsageError(`--limit must be a whole number from 1 to 9999, got ${JSON.stringify(limitText)}`);
  const limit = Number(limitText);
  const registry = ctx.registry ?? registryTargetFor(config);
  const client = registryClient(registry, io);
  let rows;
  if (registry.kind === 'plain') rows = await listPlainImages(client, service.repository, limit);
  else {
    const { client: ecr, call } = await ecrApi(registry.ecr.region, parseDeadlines(io.env), io);
    const details = await describeEcrImages(ecr, registry.ecr.account, service.repository, call);
    rows = details && (await listEcrImages(details, client, service.repository, limit));
  }
  if (rows === undefined) {
    note(io, `repository ${service.repository} does not exist on ${registry.host}; run \`engex-ci ecr check --project ${service.service}\``);
    return 1;
  }
  io.stdout(format === 'json' ? `${stringifyForTerminal({ repository: `${registry.host}/${service.repository}`, images: rows })}\n` : renderImagesTable(rows));
  return 0;
};

export const HANDLERS: Readonly<Record<string, Handler>> = {
  'agent guard': agentGuard,
  ...NX_CACHE_HANDLERS,
  'image sbom': sbomCommand,
  'image build': imageBuild,
  'image push': imagePush,
  'image exists': imageExists,
  'image smoke': imageSmoke,
  'image env': imageEnv,
  'scan report': scanReport,
  'deploy bump': deployBumpHandler,
  'deploy verify': deployVerify,
  'ecr login': ecrLogin,
  'ecr check': ecrCheck,
  'deploy status': deployStatus,
  'image list': imageList,
};
