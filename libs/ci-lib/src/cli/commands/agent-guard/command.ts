import { defineSpec } from '../../spec.js';

export const AGENT_GUARD = defineSpec({
  name: 'agent guard',
  summary: 'Refuse a job this credential-holding agent must not run (the pre-command hook of trusted queues)',
  synopsis: '--policy <file>',
  details: `
    Reads the policy from a file on the agent host (absolute path, outside the checkout, not group/world-writable),
    never from the repository. Refuses a pull request, and any repository, organization, pipeline, branch (or tag)
    or step key the policy does not list. With "api" set it asks Buildkite for the build (pull request, branch,
    commit as recorded) and, where an approval rule matches, whether the block step was unblocked by someone other
    than the commit author and the build creator. Install: libs/ci-lib/agent-hooks/pre-command.
  `,
  flags: `
    [--policy <file>]  The host policy (JSON); default ENGEX_AGENT_POLICY
  `,
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
});
