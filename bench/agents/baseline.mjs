// The seed-shaped baseline as a typed pipeline (tools/pipeline-generator src/core/pipeline.ts),
// run by the same `run --local --fresh-agents --pipeline` as our generated one. Two jobs, as the
// seed had: `npm ci && npm test` for everything, then one job that installs again, builds halow
// and engex-ci, and builds, pushes and smoke-tests the image. No dependency cache, no Nx cache
// between jobs (the seed had neither), no deploy (the bench builds a branch without a deploy
// target, for both pipelines).

const common = {
  type: 'command',
  plugins: [],
  agents: { queue: 'default' },
  retry: [],
  env: {},
  artifactPaths: [],
};

/** @param {{ commit: string, registry: string }} build the commit and the (ECR) registry host the image is tagged for */
export function baselinePipeline({ commit, registry }) {
  const image = { registry, repository: 'engex/halow', tag: commit };
  const engexCi = (call) => ({ kind: 'engex-ci', bin: ['node', 'libs/ci-lib/dist/engex-ci.cjs'], call });
  const nx = (project, target) => ({ kind: 'nx', nx: ['npx', 'nx'], project, target });
  return {
    notify: [],
    steps: [
      {
        ...common,
        key: 'seed-test',
        label: 'npm ci && npm test',
        commands: [{ kind: 'install' }, { kind: 'exec', argv: ['npm', 'test'] }],
        dependsOn: [],
        timeoutInMinutes: 60,
        meta: { kind: 'nx-task', project: '@engex/source', target: 'test', taskId: 'run-many typecheck test' },
      },
      {
        ...common,
        key: 'seed-image',
        label: 'image halow: build, push, smoke',
        commands: [
          { kind: 'install' },
          nx('@engex/halow', 'build'),
          nx('@engex/ci-lib', 'build'),
          engexCi({ command: 'image build', project: '@engex/halow' }),
          engexCi({ command: 'image push', project: '@engex/halow' }),
          engexCi({ command: 'image smoke', project: '@engex/halow' }),
        ],
        dependsOn: ['seed-test'],
        timeoutInMinutes: 30,
        meta: { kind: 'image', project: '@engex/halow', service: 'halow', image },
      },
    ],
  };
}
