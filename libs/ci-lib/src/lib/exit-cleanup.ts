/**
 * Undo actions for an interrupted run: temp clones to remove, child process groups to kill. The
 * executable's SIGINT/SIGTERM handler runs them (synchronously, as the process is about to exit);
 * normal completion unregisters each one after doing the same work itself.
 */
const actions = new Set<() => void>();

/** Registers `action`; the returned function unregisters it. */
export function onInterrupt(action: () => void): () => void {
  actions.add(action);
  return () => {
    actions.delete(action);
  };
}

/** Runs every registered action once, newest first (kill the git child before removing its clone). */
export function runInterruptCleanups(): void {
  const pending = [...actions].reverse();
  actions.clear();
  for (const action of pending) {
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
const stoppers = new Set<() => void>();

/** Registers `stop`; the returned function unregisters it. */
export function onStopRequest(stop: () => void): () => void {
  stoppers.add(stop);
  return () => {
    stoppers.delete(stop);
  };
}

/** Asks every registered command to stop; false when none is listening (then exit as usual). */
export function requestStop(): boolean {
  if (stoppers.size === 0) return false;
  const pending = [...stoppers];
  stoppers.clear();
  for (const stop of pending) stop();
  return true;
}
