import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';

/**
 * How long a connection may stay idle once draining before it is closed. Long enough for a
 * request already on the wire (a client reusing a keep-alive socket as the signal arrives, or a
 * fresh connection whose request is not read yet) to be read and answered with `Connection:
 * close`; short enough that the drain ends well inside SHUTDOWN_TIMEOUT_MS.
 */
export const DEFAULT_DRAIN_IDLE_MS = 1000;

/** Node sets this to the response being written on a socket, and clears it once it finished. */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

export interface ConnectionDrain {
  /**
   * From now on every response carries `Connection: close` (Node then closes the socket after it),
   * and a connection idle for `idleMs` is closed: never one with a request on it.
   */
  start(): void;
  /** Stops accepting connections; resolves once every connection is closed. */
  close(): Promise<void>;
}

/**
 * Drains connections so a rollout drops no request. Node's own `server.close()` (v19+) destroys
 * every socket it sees as idle at once, including keep-alive sockets whose client is writing its
 * next request right then: that request gets ECONNRESET, one per keep-alive client. Here a
 * connection is only closed by Node after a response that said `Connection: close`, or by us
 * after it stayed idle for `idleMs` while draining.
 *
 * Until the drain starts, this costs one listener per connection and nothing per request (per
 * request tracking cost ~10% of halow's CPU per request in bench/halow-http): the drain reads
 * what Node itself tracks, the response in progress on each socket, as `closeIdleConnections` does.
 */
export function trackConnections(server: Server, { idleMs = DEFAULT_DRAIN_IDLE_MS }: { idleMs?: number } = {}): ConnectionDrain {
  const sockets = new Set<HttpSocket>();
  /** Only while draining: requests whose response has not closed yet, and each socket's idle timer. */
  const inFlight = new Map<Socket, number>();
  const idleTimers = new Map<Socket, NodeJS.Timeout>();
  let draining = false;

  const busy = (socket: HttpSocket) => (inFlight.get(socket) ?? 0) > 0 || (socket._httpMessage != null && !socket._httpMessage.writableEnded);
  const armIdle = (socket: HttpSocket) => {
    clearTimeout(idleTimers.get(socket));
    idleTimers.set(
      socket,
      setTimeout(() => {
        if (!busy(socket)) socket.destroy();
      }, idleMs),
    );
  };
  const follow = (socket: HttpSocket, response: ServerResponse) => {
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    clearTimeout(idleTimers.get(socket));
    response.once('close', () => {
      const left = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, left);
      if (left === 0 && !socket.destroyed) armIdle(socket);
    });
  };

  server.on('connection', (socket: HttpSocket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      clearTimeout(idleTimers.get(socket));
      idleTimers.delete(socket);
      inFlight.delete(socket);
    });
    if (draining) armIdle(socket);
  });

  const onDrainingRequest = (request: IncomingMessage, response: ServerResponse) => {
    response.shouldKeepAlive = false;
    follow(request.socket, response);
  };

  const start = () => {
    if (draining) return;
    draining = true;
    // Prepended: Fastify may answer synchronously (a 404, a bad URL), before a later listener runs.
    server.prependListener('request', onDrainingRequest);
    for (const socket of sockets) {
      const current = socket._httpMessage;
      if (current && !current.writableEnded) {
        // Headers not sent yet: the answer now says close. Already sent: the socket idles after it.
        if (!current.headersSent) current.shouldKeepAlive = false;
        follow(socket, current);
      } else {
        armIdle(socket);
      }
    }
  };
  const close = () => {
    start();
    return new Promise<void>((resolve, reject) => {
      // net.Server's close, not http.Server's: the latter would destroy the idle sockets now.
      net.Server.prototype.close.call(server, (error?: Error) => (error ? reject(error) : resolve()));
    });
  };

  return { start, close };
}
