import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HOSTILE } from '../../test/fixtures.js';
import { quoteShellArg, renderShellCommand, renderShellCommands } from './shell.js';


describe('quoteShellArg', () => {
  it('leaves plain tokens alone', () => {
    expect(quoteShellArg('@engex/halow:build')).toBe('@engex/halow:build');
    expect(quoteShellArg('--outputStyle=static')).toBe('--outputStyle=static');
  });

  it.each(HOSTILE)('a real shell gets %j back as one literal argument', (token) => {
    const line = renderShellCommand({ argv: ['printf', '%s\\0', token, 'after'], role: 'echo' });
    const out = execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
    expect(out.split('\0')).toEqual([token, 'after', '']);
  });
});

describe('renderShellCommands', () => {
  it('runs the commands after a deferred failure, then fails with its status', () => {
    const lines = renderShellCommands([
      { argv: ['sh', '-c', 'exit 3'], role: 'engex-ci', deferFailure: true },
      { argv: ['printf', 'annotated'], role: 'annotate' },
    ]);
    expect(lines).toEqual(["sh -c 'exit 3' || ENGEX_DEFERRED_STATUS=$?", 'printf annotated', 'exit "${ENGEX_DEFERRED_STATUS:-0}"']);
    let status = 0;
    let stdout = '';
    try {
      execFileSync('/bin/sh', ['-e', '-c', lines.join('\n')], { encoding: 'utf8' });
    } catch (error) {
      status = (error as { status: number }).status;
      stdout = (error as { stdout: string }).stdout;
    }
    expect({ status, stdout }).toEqual({ status: 3, stdout: 'annotated' });
  });

  it('redirects with quoted paths', () => {
    expect(renderShellCommand({ argv: ['trivy'], stdout: 'reports/a b.json', stdin: 'in.md', role: 'trivy' })).toBe("trivy < in.md > 'reports/a b.json'");
  });
});
