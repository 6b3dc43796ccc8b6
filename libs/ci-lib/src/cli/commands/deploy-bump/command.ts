import { DEADLINE_ENV } from '../../../lib/deadlines.js';
import { defineSpec } from '../../spec.js';

export const DEPLOY_BUMP = defineSpec({
  name: 'deploy bump',
  summary: "Set an image's newTag in an ops repo overlay, commit and push",
  synopsis: '--repo <git-url> --overlay <dir> --image <name> --tag <sha>',
  details: `
    Shallow-clones the repo into a temp dir and finds the overlay's kustomization under any of kustomize's
    names (kustomization.yaml, kustomization.yml, Kustomization; two at once is an error). Needs kubectl or
    kustomize (checked first): the overlay is rendered to find every container of the service (containers,
    initContainers, CronJobs...) and the images[] entry kustomize applies to it (the name exactly as written,
    registry included, through newName chains and components). That entry gets newTag (and newName when the
    image would not be the pushed one); after the edit the render must show every container of the service at
    <image>:<tag> before anything is committed. A container no entry reaches is an error listing the render's
    names (exit 2), unless --create. A pinned digest is an error unless --pin-digest writes it with --digest.
    Refuses to go backwards (exit 1), and fails closed (exit 4, retried) when it cannot tell: a commit missing
    here or a failed fetch; --allow-rollback or ENGEX_ALLOW_ROLLBACK=1 deploys anyway. Symlinks leaving the
    clone, YAML aliases on the edited keys and files over 1 MiB are refused.
    Commits with service, old -> new, digest, build URL and source link, and pushes; a push that loses a
    race is re-applied on the new tip (8 attempts, jittered). A tag that is already current makes no commit.
  `,
  flags: `
    --repo <git-url>            The ops repository (any URL git can clone)
    [--overlay <dir>]           Overlay directory, relative to the repo root (deployTargets[].overlay)
    [--path <file>]             The kustomization file itself, instead of --overlay
    --image <name>              The pushed image, without tag
    --tag <sha>                 The new tag (the full commit sha)
    [--digest <sha256:…>]       The pushed digest: recorded in the commit, and written with --pin-digest
    [--digest-file <file>]      Read --digest from this file (what \`image push --digest-file\` wrote)
    [--ops-commit-file <file>]  Write the ops-repo commit that carries the tag to this file (for deploy verify)
    [--pin-digest]              Write digest next to newTag (deployTargets[].pinDigest), so exactly the scanned image runs
    [--create]                  Add an images[] entry when none matches
    [--skip-render]             Bump without kubectl/kustomize: only an entry named exactly the image is edited, and nothing proves the render
    [--allow-rollback]          Deploy a commit older than the one the overlay runs (also ENGEX_ALLOW_ROLLBACK=1)
    [--branch <name>]           Branch to push (default: the repo's default branch)
    [--project <p>]             The service: its name, deployImageName and source URL go into the match and the commit
  `,
  positionals: [],
  output: [
    'bumped <file> <image>: <old> → <tag> in <repo> (<branch>) commit=<sha> attempts=<n>',
    'already at <tag>: <file> <image> in <repo> (<branch>); no commit',
    'on stderr: rendered by <kubectl kustomize>: <resource> <path> (<container>) <image>, one line per container of the service',
  ],
  env: ['BUILDKITE_COMMIT', 'BUILDKITE_BUILD_URL', 'ENGEX_ALLOW_ROLLBACK', 'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', DEADLINE_ENV.gitMs, 'TMPDIR'],
  exit: '0 bumped or already current, 1 refused rollback, 2 usage / kustomize missing / overlay missing / not a kustomization / no entry reaches the service / render mismatch / stale digest / symlink outside / alias / over 1 MiB, 4 git failure or rollback check impossible',
});
