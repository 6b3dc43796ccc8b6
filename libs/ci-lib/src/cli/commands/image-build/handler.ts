import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKERFILE, formatBytes, planDockerBuild } from '../../../lib/build-image.js';
import { readBuiltSbom } from '../../../lib/built-sbom.js';
import { UsageError } from '../../../lib/errors.js';
import { planImageMetadata } from '../../../lib/labels.js';
import { runCommand } from '../../../lib/run-command.js';
import { semverFromGitTag } from '../../../lib/tags.js';
import { defineCommand } from '../../define-command.js';
import { readServiceImage } from '../../image-refs.js';
import { commitEpoch, writeServiceSbom } from '../image-sbom/handler.js';
import { IMAGE_BUILD } from './command.js';

export const imageBuild = defineCommand(IMAGE_BUILD, async (args, ctx) => {
  const from = args.sourceDateEpoch;
  if (from !== undefined && from !== 'commit')
    throw new UsageError(`--source-date-epoch: expected "commit", got ${JSON.stringify(from)}; to pin a time, set SOURCE_DATE_EPOCH instead`);
  const { service, sha, refs } = await readServiceImage(ctx, args.project);
  const root = ctx.root();
  const config = await ctx.config();
  const build = ctx.build();
  const docker = ctx.docker();
  const bundle = join(root, service.bundle);
  if (!existsSync(bundle) || !statSync(bundle).isDirectory()) {
    throw new UsageError(`${service.bundle} does not exist; build the bundle first: npx nx run ${service.project}:build`);
  }
  if (!existsSync(join(root, DOCKERFILE))) throw new UsageError(`${DOCKERFILE} not found in ${root}; the shared Dockerfile is required`);
  // An explicit SOURCE_DATE_EPOCH wins; `commit` only replaces the clock, which a retried job never repeats.
  let sourceDateEpoch = build.sourceDateEpoch;
  if (sourceDateEpoch === undefined && from === 'commit') {
    sourceDateEpoch = await commitEpoch(root, sha);
    if (sourceDateEpoch === undefined)
      throw new UsageError(`--source-date-epoch commit: \`git show -s --format=%ct ${sha}\` failed in ${root}; build in a checkout that has the commit, or set SOURCE_DATE_EPOCH`);
  }
  // The SBOM's time is the same commit time (or SOURCE_DATE_EPOCH) even without --source-date-epoch.
  // The image job that starts from the build job's artifacts has no node_modules: it bakes that
  // job's SBOM (the CycloneDX library, external to the bundle, is never loaded then).
  const sbom = args.builtSbom ? await readBuiltSbom({ root, service, sha }) : await writeServiceSbom(ctx, service, sha);
  ctx.note(`sbom ${sbom.file} ${sbom.digest} packages=${sbom.packages.length}`);
  const nodeImage = build.nodeImage ?? config.nodeImage;
  const base = await docker.inspectImage(nodeImage);
  const metadata = planImageMetadata({
    service,
    workspace: config,
    sha,
    buildTime: ctx.now(),
    sourceDateEpoch,
    version: build.tag ? semverFromGitTag(build.tag) : undefined,
    buildUrl: build.buildUrl,
    buildNumber: build.buildNumber,
    pipelineSlug: build.pipelineSlug,
    branch: build.branch,
    baseImage: { name: nodeImage, digest: base?.repoDigests[0]?.split('@')[1] || undefined },
    documentationPath: (await readmeAtRevision(root, sha, service.root)) ? `${service.root}/README.md` : undefined,
    sbomDigest: sbom.digest,
  });
  const dockerBuildkit = ctx.env['DOCKER_BUILDKIT'];
  const plan = planDockerBuild({
    root,
    service,
    refs,
    metadata,
    nodeImage,
    dockerBuildkit,
    buildxAvailable: dockerBuildkit !== undefined || (await docker.buildxAvailable()),
  });
  ctx.note(`building ${refs.dest} from ${service.bundle} on ${nodeImage}${plan.env['DOCKER_BUILDKIT'] === '0' ? ' (legacy builder: buildx not installed)' : ''}`);
  await docker.build(plan.args, plan.env);
  const image = await docker.inspectImage(refs.dest);
  if (!image) throw new UsageError(`docker build finished but ${refs.dest} is not in the local engine`);
  ctx.out(`built ${refs.dest} image=${image.id} size=${image.size} (${formatBytes(image.size)})`);
  for (const ref of [refs.local, ...refs.tags.map((t) => `${refs.name}:${t}`)]) ctx.out(`tagged ${ref}`);
  return 0;
});

/**
 * Whether `<service root>/README.md` is in the commit itself (not merely in the working tree), so
 * the `documentation` label never links to a page that 404s at that revision.
 */
async function readmeAtRevision(root: string, sha: string, serviceRoot: string): Promise<boolean> {
  const found = await runCommand('git', ['cat-file', '-e', `${sha}:${serviceRoot}/README.md`], { cwd: root, allowFailure: true }).catch(() => undefined);
  return found?.exitCode === 0;
}
