import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { installSignalHandlers, onInterrupt, onStopRequest, runInterruptCleanups } from './exit-cleanup.js';

/** A process stand-in: signals are events, `exit` is recorded instead of ending the test run. */
function fakeProcess() {
  const events = new EventEmitter();
  const exits: number[] = [];
  const proc = { on: (name: string, fn: () => void) => events.on(name, fn), exit: (code?: number) => void exits.push(code ?? 0) };
  installSignalHandlers(proc as unknown as Pick<NodeJS.Process, 'on' | 'exit'>);
  return { signal: (name: string) => events.emit(name), exits };
}

afterEach(() => runInterruptCleanups());

describe('installSignalHandlers', () => {
  it('runs the undo actions newest first and exits 128 + n', () => {
    const done: string[] = [];
    onInterrupt(() => done.push('clone'));
    onInterrupt(() => done.push('git'));
    const { signal, exits } = fakeProcess();
    signal('SIGTERM');
    expect(done).toEqual(['git', 'clone']);
    expect(exits).toEqual([143]);
  });

  it('lets a server stop gracefully on the first signal, and cleans up and exits on the second', () => {
    const done: string[] = [];
    onInterrupt(() => done.push('registry'));
    const stop = onStopRequest(() => done.push('stop'));
    const { signal, exits } = fakeProcess();
    signal('SIGINT');
    expect(done).toEqual(['stop']);
    expect(exits).toEqual([]);
    signal('SIGINT');
    expect(done).toEqual(['stop', 'registry']);
    expect(exits).toEqual([130]);
    stop();
  });

  it('an action that was unregistered does not run; SIGHUP counts too', () => {
    const done: string[] = [];
    const forget = onInterrupt(() => done.push('removed already'));
    forget();
    const { signal, exits } = fakeProcess();
    signal('SIGHUP');
    expect(done).toEqual([]);
    expect(exits).toEqual([129]);
  });
});
