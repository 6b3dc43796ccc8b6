import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on 127.0.0.1. Another process may take it before the caller
 * binds it (the port is free only at the moment of asking): a program that binds it itself should
 * start through `withFreePort`, which asks again when it lost that race.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The failure of a bind to a port someone else holds, as Node, Go (docker-registry) and busybox word it. */
export function isAddressInUse(error: unknown): boolean {
  const text = error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}` : String(error);
  return /EADDRINUSE|address already in use/i.test(text);
}

/**
 * `start(port)` on a free port; when it fails because the port was taken between findFreePort's
 * answer and the bind (isAddressInUse), once more on a new port, up to `attempts` times. Any other
 * failure is thrown at once.
 */
export async function withFreePort<T>(
  start: (port: number) => Promise<T>,
  { attempts = 3, find = findFreePort }: { attempts?: number; find?: () => Promise<number> } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await find();
    try {
      return await start(port);
    } catch (error) {
      if (attempt >= attempts || !isAddressInUse(error)) throw error;
    }
  }
}
