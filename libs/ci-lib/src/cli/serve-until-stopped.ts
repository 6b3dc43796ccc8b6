import { InfrastructureError } from '../lib/errors.js';
import { onStopRequest } from '../lib/exit-cleanup.js';

// What the long-running commands (`nx-cache serve`, `nx-cache proxy`) share: a clear error when
// they cannot listen, and the wait for the executable's first SIGINT/SIGTERM.

export const listenError =
  (what: string, host: string, port: number | undefined) =>
  (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new InfrastructureError(`${what} cannot listen on ${host}:${port ?? 0} (${code}); pick another --port or --host`, { cause: error });
    }
    throw error;
  };

/** Resolves on the first SIGINT/SIGTERM (a second one kills at once). */
export const untilStopped = (): Promise<void> => new Promise<void>((resolveStop) => onStopRequest(resolveStop));
