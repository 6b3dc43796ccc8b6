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
