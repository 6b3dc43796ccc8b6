import { describe, expect, it } from 'vitest';
import type { Pipeline } from '../core/pipeline.js';
import { planPipeline } from '../core/plan.js';
import { analyze, commandStep, planInput } from '../../test/fixtures.js';
import { LocalPlanError, orderSteps, planLocalRun, type LocalCommandStep, type LocalRunContext, type LocalRunPlan } from './plan-local-run.js';

const commandSteps = (p: LocalRunPlan): LocalCommandStep[] => p.steps.filter((s): s is LocalCommandStep => s.type === 'command');
const ctx: LocalRunContext = { uploadEnv: { BUILDKITE_BRANCH: 'main', BUILDKITE_COMMIT: 'c0ffee' }, presentImages: new Set() };

describe('planLocalRun', () => {
  const generated = planPipeline(planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts'])));
  const plan = planLocalRun(generated, ctx);
  const step = (key: string) => commandSteps(plan).find((s) => s.key === key)!;

  it('runs the uploaded text after interpolation: $$ becomes $, nothing else of the typed commands', () => {
    const scan = step('acme-api:scan');
    expect(scan.commands).toContain('exit "${ENGEX_DEFERRED_STATUS:-0}"');
    expect(scan.commands.join('\n')).not.toContain('$$');
    expect(step('acme-api:deploy-staging').commands).toEqual(
      expect.arrayContaining(['mkdir -p reports/deploy', 'buildkite-agent meta-data get engex:api:digest > reports/deploy/api-staging.digest']),
    );
  });

  it('keeps the queue, the plugins as emulations, and skips only what cannot run here, saying why', () => {
    expect(step('acme-api:image')).toMatchObject({ queue: 'deploy', plugins: [{ kind: 'ecr', registries: ['460210468233.dkr.ecr.us-east-1.amazonaws.com'] }] });
    expect(step('acme-api:build').plugins).toEqual([expect.objectContaining({ kind: 'cache', restore: 'file' })]);
    expect(step('acme-api:scan').skip).toMatch(/^the Trivy image aquasec\/trivy:\S+ is not in the local Docker engine/);
    const withTrivy = planLocalRun(generated, { ...ctx, presentImages: new Set([(step('acme-api:scan').meta as { trivy: { containerImage: string } }).trivy.containerImage]) });
    expect(commandSteps(withTrivy).find((s) => s.key === 'acme-api:scan')?.skip).toBeUndefined();
    expect(
      commandSteps(plan)
        .filter((s) => s.skip !== undefined)
        .map((s) => s.key),
    ).toEqual(['acme-api:scan']);
  });

  it("reads each step's cancel_on_build_failing from the uploaded YAML: the image and scan steps, no check or deploy", () => {
    expect(
      commandSteps(plan)
        .filter((s) => s.cancelOnBuildFailing)
        .map((s) => s.key),
    ).toEqual(['acme-api:image', 'acme-api:scan']);
  });

  it('interpolates $VAR from the upload environment and fails loudly where Buildkite would', () => {
    const p = (commands: string[]): Pick<Pipeline, 'steps' | 'notify'> => ({
      notify: [],
      steps: [commandStep('a', [], { commands: commands.map((c) => ({ kind: 'exec' as const, argv: ['sh', '-c', c] })) })],
    });
    // The generator escapes every `$`; an unescaped one in a typed pipeline would be interpolated at upload.
    expect(commandSteps(planLocalRun(p(['echo "$HOME"']), ctx))[0]?.commands).toEqual([`sh -c 'echo "$HOME"'`]);
    const raw = { notify: [], steps: [commandStep('a', [], { env: { WHERE: 'on $BUILDKITE_BRANCH' } })] } as Pipeline;
    expect(() => planLocalRun({ ...raw, steps: [commandStep('a', [], { plugins: [{ ref: 'docker#v5.0.0', config: {} }] })] }, ctx)).toThrow(LocalPlanError);
    expect(commandSteps(planLocalRun(raw, ctx))[0]?.env).toEqual({ WHERE: 'on $BUILDKITE_BRANCH' });
  });

  it('orders by depends_on, keeping pipeline order among ready steps, and rejects cycles and unknown steps', () => {
    expect(
      orderSteps([
        { key: 'b', dependsOn: ['a'] },
        { key: 'a', dependsOn: [] },
        { key: 'c', dependsOn: [] },
      ]).map((s) => s.key),
    ).toEqual(['a', 'b', 'c']);
    expect(() => orderSteps([{ key: 'a', dependsOn: ['x'] }])).toThrow('Step a depends on unknown step x.');
    expect(() =>
      orderSteps([
        { key: 'a', dependsOn: ['b'] },
        { key: 'b', dependsOn: ['a'] },
      ]),
    ).toThrow(/Dependency cycle among steps a, b/);
  });
});
