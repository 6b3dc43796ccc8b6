import { canonicalCall, parseCall, type EngexCiCall } from '@engex/ci-lib/contract';
import { describe, expect, it } from 'vitest';
import { BASE_SHA, analyze, planInput, reconfigured } from '../../test/fixtures.js';
import { allSteps, type CommandStep, type StepCommand } from './pipeline.js';
import { planPipeline, type PlanPipelineInput } from './plan.js';
import { invocation } from './shell.js';

/**
 * The generator's half of the engex-ci contract: every call the planner emits, spelled as the
 * step runs it (`invocation`, the argv its shell line quotes), goes through engex-ci's own parser
 * and must come back as the same call. A flag renamed or dropped in ci-lib's table, or a value
 * the CLI refuses (empty, `--`-prefixed), fails here instead of on a Buildkite agent.
 */

const lastPassed = { rule: 'last-passed-build' as const, base: BASE_SHA, reason: 'last passed build.', notes: [] };
const change = analyze(['apps/api/src/main.ts']);

/** Every deploy target shape: plain, pinned digest, verify with and without ArgoCD, approval. */
function withTargets(input: PlanPipelineInput, options: { allowMutable?: boolean; ignoreUnfixed?: boolean } = {}): PlanPipelineInput {
  const config = input.config;
  return reconfigured(input, {
    config: {
      registry: { ...config.registry, allowMutable: options.allowMutable ?? config.registry.allowMutable },
      trivy: { ...config.trivy, ignoreUnfixed: options.ignoreUnfixed ?? config.trivy.ignoreUnfixed },
      deployTargets: [
        {
          branch: 'main',
          overlay: 'overlays/staging',
          pinDigest: false,
          approval: 'none',
          url: 'https://api.staging.example.com',
          argocd: { server: 'https://argocd.example.com', application: 'api-staging' },
        },
        { branch: 'main', overlay: 'overlays/staging-eu', pinDigest: true, approval: 'none', url: 'https://api.staging-eu.example.com' },
        { branch: 'release/*', overlay: 'overlays/production', pinDigest: true, approval: 'manual', url: 'https://api.example.com' },
      ],
    },
  });
}

const SCENARIOS: [string, PlanPipelineInput][] = [
  ['main', withTargets(planInput({ branch: 'main' }, change, lastPassed))],
  ['release/*', withTargets(planInput({ branch: 'release/1.4' }, change, lastPassed))],
  ['pull request', withTargets(planInput({ branch: 'feat/x', pullRequest: 42 }, change))],
  ['--all', withTargets(planInput({ branch: 'main' }, analyze([], { all: '--all' }), { rule: 'all', reason: '--all', notes: [] }))],
  // The config switches that change a call's flags.
  ['main, mutable repository, unfixed findings counted', withTargets(planInput({ branch: 'main' }, change, lastPassed), { allowMutable: true, ignoreUnfixed: false })],
];

type EngexCiCommand = Extract<StepCommand, { kind: 'engex-ci' }>;

function engexCiCommands(input: PlanPipelineInput): { step: string; command: EngexCiCommand }[] {
  return allSteps(planPipeline(input))
    .filter((s): s is CommandStep => s.type === 'command')
    .flatMap((step) => step.commands.filter((c): c is EngexCiCommand => c.kind === 'engex-ci').map((command) => ({ step: step.key, command })));
}

describe('every engex-ci call the planner emits parses back to the same call', () => {
  it.each(SCENARIOS)('%s', (_name, input) => {
    const calls = engexCiCommands(input);
    expect(calls.length).toBeGreaterThan(0);
    for (const { step, command } of calls) {
      const argv = invocation(command).argv;
      expect(argv.slice(0, command.bin.length), step).toEqual(command.bin);
      expect({ step, call: parseCall(argv.slice(command.bin.length)) }).toEqual({ step, call: canonicalCall(command.call) });
    }
  });

  it('the scenarios reach every command the planner uses, and every flag it can set', () => {
    const calls: EngexCiCall[] = SCENARIOS.flatMap(([, input]) => engexCiCommands(input).map((c) => c.command.call));
    const seen = new Set(calls.flatMap((call) => Object.keys(call).map((field) => `${call.command} ${field}`)));
    expect([...new Set(calls.map((c) => c.command))].sort()).toEqual([
      'deploy bump',
      'deploy verify',
      'ecr check',
      'image build',
      'image push',
      'image sbom',
      'image smoke',
      'scan report',
    ]);
    for (const field of [
      'deploy bump pinDigest',
      'deploy bump opsCommitFile',
      'deploy verify argocdServer',
      'deploy verify opsCommitFile',
      'scan report sbomReport',
      'image push digestFile',
      'image build builtSbom',
    ]) {
      expect(seen, field).toContain(field);
    }
    // Both values of the switches.
    expect(new Set(calls.flatMap((c) => (c.command === 'ecr check' ? [c.allowMutable] : [])))).toEqual(new Set([true, false]));
    expect(new Set(calls.flatMap((c) => (c.command === 'scan report' ? [c.ignoreUnfixed] : [])))).toEqual(new Set([true, false]));
  });
});
