import { DEADLINE_ENV } from '../../../lib/deadlines.js';
import { defineSpec } from '../../spec.js';

export const DEPLOY_STATUS = defineSpec({
  name: 'deploy status',
  summary: 'What runs where: per service and deploy target, the deployed commit, its age and image',
  synopsis: '[--project <p>] [--format table|json] [--default-branch <name>] [--ops-repo <url>]',
  details: `
    Also \`engex-ci status\`. Reads each overlay of the ops repo (one shallow clone per repo, within
    ENGEX_CI_GIT_DEADLINE), finds the kustomization under its three names and the service image entry,
    then asks the source repo (the workspace's git) for the commit's subject and age and how far the default
    branch is ahead, and the registry whether the image exists (its digest) and which newest commit of the
    branch has an image. A value whose source did not answer shows as "unreachable: <reason>", never a guess.
  `,
  flags: `
    [--project <p>]            Only this service (default: every engex:service project)
    [--format table|json]      table (default) or json (the same data, for scripts)
    [--default-branch <name>]  The branch "behind" counts against: origin/<name>, else <name> (default main; proposed config: defaultBranch)
    [--ops-repo <url>]         Read every service's overlays from this repo instead of its configured opsRepo; {service} is replaced (local runs)
  `,
  positionals: [],
  output: ['SERVICE  TARGET  DEPLOYED  AGE  BEHIND  IMAGE  NEWEST IMAGE  SUBJECT, then [n] notes for values that could not be read'],
  env: ['REGISTRY', DEADLINE_ENV.gitMs, DEADLINE_ENV.registryMs, DEADLINE_ENV.awsMs, 'TMPDIR'],
  exit: '0 printed (unreachable values included), 2 usage/config',
});
