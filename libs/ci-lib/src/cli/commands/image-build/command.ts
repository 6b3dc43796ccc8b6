import { PROJECT_FLAG, IMAGE_ENV, defineSpec } from '../../spec.js';

export const IMAGE_BUILD = defineSpec({
  name: 'image build',
  summary: 'Build the service image with every tag, OCI label and build arg computed here',
  synopsis: '--project <p> [--source-date-epoch commit] [--built-sbom]',
  details: `
    Runs \`docker build\` on docker/Dockerfile with the workspace root as context, after \`nx build\` produced
    the service bundle (<service root>/dist). Tags: <repo>:<sha> and <registry>/<repo>:<tag> for the full sha
    plus the optional tags enabled in engex.config.json \`tags\`. Uses the legacy builder (DOCKER_BUILDKIT=0)
    when the buildx plugin is missing, unless DOCKER_BUILDKIT is set. Writes the SBOM first (see \`image sbom\`),
    or with --built-sbom bakes the one \`image sbom\` already wrote: then no node_modules is needed.
    \`created\` is SOURCE_DATE_EPOCH when set; else, with --source-date-epoch commit, the commit time (what
    generated Buildkite steps pass, so a retried job has the same labels); else the clock.
  `,
  flags: `
    ${PROJECT_FLAG}
    [--source-date-epoch commit]  Without SOURCE_DATE_EPOCH in the environment, use the commit's committer time (git show -s --format=%ct)
    [--built-sbom]                Bake <service root>/dist/sbom.cdx.json as written by \`image sbom\` (for this service and commit), not a new one
  `,
  positionals: [],
  output: ['built <registry>/<repo>:<sha> image=<sha256:id> size=<bytes> (<human>)', 'tagged <reference>   (one line per tag, and the local <repo>:<sha>)'],
  env: IMAGE_ENV,
  exit: '0 built, 2 usage/config (bundle, Dockerfile or built SBOM missing, bad env), 4 docker failed',
});
