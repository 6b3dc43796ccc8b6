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

interface SocketState {
  /** Requests read on this socket whose response has not closed yet. */
  inFlight: number;
  /** The newest of them, to take back its keep-alive promise if it has not been sent yet. */
  response: ServerResponse | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

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
 * Tracks each connection's in-flight requests so a rollout drops none. Node's own `server.close()`
 * (v19+) destroys every socket it sees as idle at once, including keep-alive sockets whose client
 * is writing its next request right then: that request gets ECONNRESET, one per keep-alive client.
 * Here a connection is only closed by Node after a response that said `Connection: close`, or by
 * us after it stayed idle for `idleMs` while draining.
 */
export function trackConnections(server: Server, { idleMs = DEFAULT_DRAIN_IDLE_MS }: { idleMs?: number } = {}): ConnectionDrain {
  const sockets = new Map<Socket, SocketState>();
  let draining = false;

  const armIdle = (socket: Socket, state: SocketState) => {
    clearTimeout(state.idleTimer);
    state.idleTimer = setTimeout(() => {
      if (state.inFlight === 0) socket.destroy();
    }, idleMs);
  };

  server.on('connection', (socket: Socket) => {
    const state: SocketState = { inFlight: 0, response: undefined, idleTimer: undefined };
    sockets.set(socket, state);
    socket.once('close', () => {
      clearTimeout(state.idleTimer);
      sockets.delete(socket);
    });
    if (draining) armIdle(socket, state);
  });

  // Prepended: Fastify may answer synchronously (a 404, a bad URL), before a later listener runs.
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    const state = sockets.get(socket);
    if (!state) return;
    state.inFlight++;
    state.response = response;
    clearTimeout(state.idleTimer);
    if (draining) response.shouldKeepAlive = false;
    response.once('close', () => {
      state.inFlight--;
      if (state.response === response) state.response = undefined;
      if (draining && state.inFlight === 0 && !socket.destroyed) armIdle(socket, state);
    });
  });

  const start = () => {
    if (draining) return;
    draining = true;
    for (const [socket, state] of sockets) {
      // Headers not sent yet: the answer now says close. Already sent: the socket idles after it.
      if (state.response && !state.response.headersSent) state.response.shouldKeepAlive = false;
      if (state.inFlight === 0) armIdle(socket, state);
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
