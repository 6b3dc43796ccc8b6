import { PROJECT_FLAG, IMAGE_ENV, defineSpec } from '../../spec.js';

export const IMAGE_PUSH = defineSpec({
  name: 'image push',
  summary: 'Push every tag idempotently to the IMMUTABLE repository',
  synopsis: '--project <p>',
  details: `
    Checks every tag in the registry before pushing anything, comparing image ids (config digests):
      same image              -> "unchanged", nothing pushed
      absent                  -> docker push, then the registry is asked again
      other image, same commit (a retried/rebuilt job) -> "kept": the earlier image stays, nothing pushed,
                                 the local tag is re-pointed at it (docker pull)
      other image, other or unknown commit -> immutability conflict, exit 3, nothing pushed
    Auth: ECR GetAuthorizationToken (AWS credentials of the agent); none for REGISTRY=host:port.
    With --digest-file, writes the manifest digest of the commit tag to <file> (for buildkite-agent meta-data).
  `,
  flags: `
    ${PROJECT_FLAG}
    [--digest-file <file>]  Write the commit tag's manifest digest (sha256:…) to this file
  `,
  positionals: [],
  output: [
    'pushed <ref>@<manifest digest> image=<sha256:id> size=<bytes>',
    'unchanged <ref>@<digest> image=<id> size=<bytes> (already in the registry; nothing pushed)',
    'kept <ref>@<digest> image=<id> size=<bytes> (an earlier build of this commit pushed it; this rebuild <id> was not pushed ...)',
  ],
  env: IMAGE_ENV,
  exit: '0 pushed or already there, 2 usage/config (no local image), 3 immutability conflict, 4 registry/docker failure',
});
