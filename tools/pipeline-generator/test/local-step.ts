import type { LocalCommandStep } from '../src/local/plan-local-run.js';

/** A local run's command step: `true` on the `default` queue, nothing else, unless `over` says so. */
export function localCommandStep(key: string, over: Partial<LocalCommandStep> = {}): LocalCommandStep {
  return {
    type: 'command',
    key,
    label: key,
    dependsOn: [],
    notes: [],
    timeoutMs: 60_000,
    queue: 'default',
    env: {},
    commands: ['true'],
    plugins: [],
    artifactPaths: [],
    retry: [],
    cancelOnBuildFailing: false,
    ...over,
  };
}
