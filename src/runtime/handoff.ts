/**
 * The worker's side of balancing (balance.ts): shedding connections, and handing the clients' new connections to
 * the master, which passes them to the least-busy worker.
 *
 * Shedding alone is not enough: measured on loopback with 16 keep-alive connections piled on worker 1 of 2, the
 * reconnections of 8 shed clients landed on worker 1 again 7 times in 8. The worker that is running takes the
 * connection before an idle one has woken up, so the busy worker wins the race it should lose. So for a second
 * after a shed, the worker passes the next connections it accepts to the master instead of serving them.
 *
 * Passing a connection must not lose a byte of it. The listening server is switched to `pauseOnConnect` only
 * for that second (so the usual connection costs nothing more): a paused connection's socket never starts
 * reading, node:net's documented way to hand connections between processes. Its raw handle travels
 * (child_process 'net.Native': nobody on the way creates a reading socket for it) and the local copy is closed
 * once the descriptor has left with the message. The receiving worker takes it through its listening handle's
 * `onconnection`, the path node:cluster's round-robin uses (cluster/child.js), so it is counted and drained like a
 * connection it accepted itself. The master gives none to a draining worker unless no other serves (a full stop):
 * that one serves it outside its listener, and its drain waits for it (worker.ts).
 */
import type { Server } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Clock } from './clock.js';
import type { ConnectionTracker } from './connection-drain.js';

/** How long after a shed accepted connections are handed over. */
export const HANDOFF_WINDOW_MS = 1000;

/** node:net internals the hand-over uses (stable since Node 0.x; cluster/child.js relies on the same). */
type NativeHandle = { onconnection?: (status: number, handle: unknown) => void; close(): void };
type ServerWithHandle = Server & { _handle?: NativeHandle | null; pauseOnConnect: boolean };
type SocketWithHandle = Socket & { _handle?: NativeHandle | null };

export interface Handoff {
  /** The master's shed: close `count` connections after their response, and hand over as many new ones. */
  shed(count: number): void;
  /** A connection the master passed to us. */
  receive(handle: unknown): void;
}

/**
 * `pass(handle, done)` sends a handle to the master (a 'handoff' message), `done` once it left, with an error
 * if it did not.
 */
export function attachHandoff(
  server: Server,
  tracker: ConnectionTracker,
  clock: Clock,
  pass: (handle: unknown, done: (error?: Error) => void) => void,
): Handoff {
  const listener = server as ServerWithHandle;
  let left = 0;
  let receiving = false;
  let cancelWindow: (() => void) | undefined;

  // Prepended: runs before http's own connection listener. A connection accepted while the server pauses new
  // ones either leaves (its handle is sent; http's listener sets up a parser that never reads and is freed when
  // the socket is destroyed) or is resumed once every listener ran. Listening only while the window is open (the
  // only time a connection arrives paused): outside it this would be one more 'connection' listener called for
  // every connection for nothing, which on a `Connection: close` load is every request.
  const onConnection = (socket: SocketWithHandle): void => {
    if (!socket.isPaused()) return;
    if (left > 0 && !receiving && socket._handle != null) {
      left -= 1;
      if (left === 0) closeWindow();
      const handle = socket._handle;
      pass(handle, (error) => {
        if (error === undefined) {
          socket.destroy(); // closes our copy: the master's and the next worker's keep the connection open
        } else {
          socket.resume(); // the message could not leave: serve it here after all
        }
      });
      return;
    }
    process.nextTick(() => socket.resume());
  };

  // pauseOnConnect and the listener come and go together: a connection accepted paused always finds the listener
  // (node:net reads pauseOnConnect as it accepts, then emits 'connection' synchronously), and removing the listener
  // while 'connection' is being emitted is safe (EventEmitter#emit calls a copy of the listener array).
  const closeWindow = (): void => {
    left = 0;
    if (listener.pauseOnConnect) {
      listener.pauseOnConnect = false;
      server.removeListener('connection', onConnection);
    }
    cancelWindow?.();
    cancelWindow = undefined;
  };

  return {
    shed(count) {
      tracker.shed(count);
      if (count <= 0 || listener._handle == null) return;
      left = count;
      if (!listener.pauseOnConnect) {
        listener.pauseOnConnect = true;
        server.prependListener('connection', onConnection);
      }
      cancelWindow?.();
      cancelWindow = clock.setTimer(HANDOFF_WINDOW_MS, closeWindow);
    },
    receive(handle) {
      const own = listener._handle;
      if (own?.onconnection === undefined) {
        // Not listening any more: the master sends one here only when no other worker serves (a full stop) or
        // it crossed our drain. Served all the same, with `Connection: close` (the tracker drains), and the drain
        // waits for it (worker.ts): closing it would fail its client's request.
        server.emit('connection', new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts));
        return;
      }
      receiving = true;
      try {
        own.onconnection(0, handle);
      } finally {
        receiving = false;
      }
    },
  };
}
