import { describe, expect, it } from 'vitest';
import { UsageError } from '../lib/errors.js';
import { COMMANDS, type CommandSpec } from './commands.js';
import { canonicalCall, parseCall, toArgv, type EngexCiCall } from './contract.js';

const TABLE = COMMANDS as readonly CommandSpec[];
const camel = (name: string) => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A call that sets every flag of the command: text for string flags, `value` for booleans. */
function fullCall(spec: CommandSpec, value: boolean): EngexCiCall {
  const call: Record<string, unknown> = { command: spec.name };
  for (const flag of spec.flags) call[camel(flag.name)] = flag.type === 'boolean' ? value : `${flag.name}-value`;
  if (spec.positionals.length > 0) call['args'] = spec.positionals.map((p) => `${p.name}-arg`);
  return call as unknown as EngexCiCall;
}

describe('the engex-ci call contract', () => {
  it('spells a call as the CLI documents it: words, positionals, flags in table order', () => {
    expect(toArgv({ command: 'image push', project: '@engex/halow', digestFile: 'reports/image/halow.digest' })).toEqual([
      'image',
      'push',
      '--project',
      '@engex/halow',
      '--digest-file',
      'reports/image/halow.digest',
    ]);
    expect(toArgv({ command: 'scan report', args: ['r.json'], ignoreUnfixed: false, failOn: 'CRITICAL', annotation: 'a.md' })).toEqual([
      'scan',
      'report',
      'r.json',
      '--fail-on',
      'CRITICAL',
      '--no-ignore-unfixed',
      '--annotation',
      'a.md',
    ]);
    expect(toArgv({ command: 'ecr check', project: 'p', allowMutable: false })).toEqual(['ecr', 'check', '--project', 'p']);
  });

  it.each(TABLE.map((spec) => [spec.name, spec] as const))('%s: every flag set, true and false, parses back to the same call', (_name, spec) => {
    for (const value of [true, false]) {
      const call = fullCall(spec, value);
      expect(parseCall(toArgv(call))).toEqual(canonicalCall(call));
    }
  });

  it('keeps a positional that looks like a flag a positional', () => {
    const call: EngexCiCall = { command: 'scan report', args: ['--odd.json'], failOn: 'HIGH' };
    expect(toArgv(call)).toEqual(['scan', 'report', '--fail-on', 'HIGH', '--', '--odd.json']);
    expect(parseCall(toArgv(call))).toEqual(call);
  });

  it('refuses, by name, what the CLI would refuse or never see', () => {
    const bad = (call: unknown) => () => toArgv(call as EngexCiCall);
    expect(bad({ command: 'image push', project: 'p', digestFlie: 'x' })).toThrow(/image push: no flag for digestFlie; flags: project, digestFile/);
    expect(bad({ command: 'image push', project: '' })).toThrow(/--project needs a value, got ""/);
    expect(bad({ command: 'image push', project: '--tag' })).toThrow(/--project needs a value, got "--tag"/);
    expect(bad({ command: 'image pull', project: 'p' })).toThrow(UsageError);
    expect(bad({ command: 'scan report' })).toThrow(/scan report: expected 1 argument\(s\), got 0/);
    // The parser's own errors come through parseCall: a missing required flag.
    expect(() => parseCall(['deploy', 'bump', '--repo', 'r'])).toThrow(/deploy bump: missing --image <name>, --tag <sha>/);
    expect(() => parseCall(['image', 'push', '--help'])).toThrow(/asks for help/);
  });

  it('types the call from the table', () => {
    // @ts-expect-error a misspelled flag is a type error, not a red Buildkite job.
    const misspelled: EngexCiCall = { command: 'image push', project: 'p', digestFlie: 'f' };
    // @ts-expect-error a required flag is required.
    const missing: EngexCiCall = { command: 'deploy bump', repo: 'r', image: 'i' };
    // @ts-expect-error a boolean flag takes a boolean.
    const wrongType: EngexCiCall = { command: 'ecr check', project: 'p', allowMutable: 'yes' };
    expect([misspelled, missing, wrongType]).toHaveLength(3);
  });
});
