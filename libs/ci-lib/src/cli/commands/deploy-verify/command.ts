import { defineSpec } from '../../spec.js';

export const DEPLOY_VERIFY = defineSpec({
  name: 'deploy verify',
  summary: 'Wait until the environment serves the new revision (and ArgoCD reports it Synced and Healthy)',
  synopsis: '--url <base-url> [--argocd-server <url> --argocd-app <name>] [--revision <sha>]',
  details: `
    Polls <url>/version until it reports the revision and <url>/readyz until it answers 200. With an ArgoCD
    application, also polls its REST API until the app is Synced (at --ops-commit, when given) and Healthy;
    the token comes from ARGOCD_AUTH_TOKEN and is never printed. Passes after --rounds consecutive rounds in
    which every source agrees (default 3: one lucky answer from a half-rolled-out service is not enough).
    Ends at the deadline with the last answers.
  `,
  flags: `
    [--url <base-url>]          The environment's base URL (deployTargets[].url)
    [--revision <sha>]          The commit that must be served (default: BUILDKITE_COMMIT, else HEAD)
    [--argocd-server <url>]     ArgoCD's base URL
    [--argocd-app <name>]       The ArgoCD Application of this target
    [--ops-commit <sha>]        The ops-repo commit the bump pushed; ArgoCD must be Synced at it
    [--ops-commit-file <file>]  Read --ops-commit from this file (what deploy bump --ops-commit-file wrote)
    [--timeout <duration>]      Overall deadline, e.g. 10m, 90s (default 10m)
    [--rounds <n>]              Consecutive rounds in which every source must agree (default 3)
  `,
  positionals: [],
  output: ['verified <sha> after <n> s (<rounds> rounds): version serves <sha>; readyz HTTP 200; argocd sync Synced at <ops sha>, health Healthy', 'progress lines on stderr'],
  env: ['BUILDKITE_COMMIT', 'ARGOCD_AUTH_TOKEN'],
  exit: '0 verified, 1 not live by the deadline (the last answers are printed), 2 usage',
});
