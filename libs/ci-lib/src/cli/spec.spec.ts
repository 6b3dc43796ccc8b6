import { describe, expect, expectTypeOf, it } from 'vitest';
import { DEPLOY_BUMP } from './commands/deploy-bump/command.js';
import { SCAN_REPORT } from './commands/scan-report/command.js';
import { defineSpec, dedent, parseFlagTable, type ArgsOf } from './spec.js';

const TABLE = `
    --tag <sha>               The new tag
    [--digest <sha256:…>]     The pushed digest;  two spaces inside a description are kept
    [--create]                Add an entry
    [--[no-]ignore-unfixed]   Count findings without a fix
`;

describe('flag tables', () => {
  it('reads each label as the parser needs it: required, value, switch, negatable', () => {
    expect(parseFlagTable(TABLE, 'x y')).toEqual([
      { name: 'tag', type: 'string', value: '<sha>', required: true, description: 'The new tag' },
      { name: 'digest', type: 'string', value: '<sha256:…>', description: 'The pushed digest;  two spaces inside a description are kept' },
      { name: 'create', type: 'boolean', description: 'Add an entry' },
      { name: 'ignore-unfixed', type: 'boolean', negatable: true, description: 'Count findings without a fix' },
    ]);
  });

  it.each([
    ['--tag <sha> The new tag', 'one space between label and description'],
    ['[--tag]', 'no description'],
    ['--Tag <sha>  Upper case', 'a name outside [a-z0-9-]'],
    ['--create  A required switch', 'a required flag without a value'],
  ])('refuses %j (%s), naming the command and the forms allowed', (line) => {
    expect(() => parseFlagTable(line, 'x y')).toThrow(`x y: cannot read flag line ${JSON.stringify(line)}; write "--name <value>  description"`);
  });

  it('refuses a flag listed twice', () => {
    expect(() => parseFlagTable('[--a]  one\n[--a <v>]  two', 'x y')).toThrow('x y: --a is in the flag table twice');
  });

  it('types a command the way it parses: what ArgsOf gives is what the table says', () => {
    const spec = defineSpec({ name: 'x y', summary: '', synopsis: '', details: '', flags: TABLE, positionals: [], output: [], env: [], exit: '' });
    expectTypeOf<ArgsOf<typeof spec>>().toEqualTypeOf<{ tag: string; digest?: string; create?: boolean; ignoreUnfixed?: boolean }>();
    expectTypeOf<ArgsOf<typeof DEPLOY_BUMP>['tag']>().toEqualTypeOf<string>();
    expectTypeOf<ArgsOf<typeof DEPLOY_BUMP>['pinDigest']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<ArgsOf<typeof SCAN_REPORT>['args']>().toEqualTypeOf<readonly [string]>();
    expect(spec.flags.map((f) => f.name)).toEqual(['tag', 'digest', 'create', 'ignore-unfixed']);
  });
});

describe('dedent', () => {
  it('drops the common indent and the blank first and last lines, and keeps inner indent', () => {
    expect(dedent('\n    one\n      two\n\n    three\n  ')).toBe('one\n  two\n\nthree');
  });
});
