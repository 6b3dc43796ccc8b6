/** A set of callbacks: `add` registers one and returns its own unregister; `drain` empties the set and returns its callbacks, oldest first. */
function callbacks() {
  const set = new Set<() => void>();
  return {
    add(fn: () => void): () => void {
      set.add(fn);
      return () => {
        set.delete(fn);
      };
    },
    drain(): Array<() => void> {
      const all = [...set];
      set.clear();
      return all;
    },
  };
}

/**
 * Undo actions for an interrupted run: temp clones to remove, child process groups to kill. The
 * executable's SIGINT/SIGTERM handler runs them (synchronously, as the process is about to exit);
 * normal completion unregisters each one after doing the same work itself.
 */
const actions = callbacks();

/** Registers `action`; the returned function unregisters it. */
export const onInterrupt = actions.add;

/** Runs every registered action once, newest first (kill the git child before removing its clone). */
export function runInterruptCleanups(): void {
  for (const action of actions.drain().reverse()) {
    try {
      action();
    } catch {
      // Best effort: the process is exiting; the next run's sweep catches what is left.
    }
  }
}

/**
 * Long-running commands (`nx-cache serve`) stop themselves on the first SIGINT/SIGTERM, letting
 * in-flight work finish, instead of the immediate exit above.
 */
const stoppers = callbacks();

/** Registers `stop`; the returned function unregisters it. */
export const onStopRequest = stoppers.add;

/** Asks every registered command to stop; false when none is listening (then exit as usual). */
export function requestStop(): boolean {
  const pending = stoppers.drain();
  for (const stop of pending) stop();
  return pending.length > 0;
}

/** The signals an engex executable undoes its work on, with the conventional exit code 128 + n. */
export const EXIT_SIGNALS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

/**
 * The executables' signal handling, in one place. The first SIGINT/SIGTERM/SIGHUP asks a running
 * server to stop gracefully (`requestStop`); with none, the undo actions run and the process exits
 * 128 + n. Every later signal runs the undo actions at once and exits: a second Ctrl-C (or a
 * cancelled Buildkite job's SIGTERM after a Ctrl-C) must not leave containers, temp clones or
 * registries behind, which Node's default exit on an unhandled signal would.
 */
export function installSignalHandlers(proc: Pick<NodeJS.Process, 'on' | 'exit'>): void {
  let stopping = false;
  for (const [signal, code] of Object.entries(EXIT_SIGNALS)) {
    proc.on(signal, () => {
      if (!stopping && requestStop()) {
        stopping = true;
        return;
      }
      runInterruptCleanups();
      proc.exit(code);
    });
  }
}
