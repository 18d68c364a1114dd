/**
 * Draining an HTTP server without failing requests. The hard part is keep-alive: an idle connection may carry
 * the client's next request at any moment, and closing it just then makes that request fail with ECONNRESET.
 * Node's own `server.close()` (v19+) destroys every idle connection at once, including connections that were
 * handed to this worker a moment ago and whose first request has not been parsed yet (ConnectionsList::Idle
 * counts them as idle), so under load a drain would fail requests. Instead:
 *
 * - stop accepting with net.Server's close (no idle sweep); node:cluster hands connections that race with the
 *   close back to the primary, which gives them to another worker (cluster/child.js `onconnection`);
 * - every response from now on carries `Connection: close`, so busy connections end after their response;
 * - a connection that stays idle for `lingerMs` after the drain started is closed (its client is not sending);
 * - the server's close callback fires when the last connection is gone.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import type { Clock } from './clock.js';

export interface ConnectionState {
  /** Responses in flight on this connection. */
  busy: number;
  /** When the connection last became idle (or was accepted). */
  idleSince: number;
  responses: Set<ServerResponse>;
}

/** Pure: the idle connections that have had `lingerMs` of quiet since the drain started. */
export function pickIdleToClose<T>(connections: Iterable<[T, ConnectionState]>, now: number, drainStartedAt: number, lingerMs: number): T[] {
  const picked: T[] = [];
  for (const [key, state] of connections) {
    if (state.busy === 0 && now - Math.max(state.idleSince, drainStartedAt) >= lingerMs) picked.push(key);
  }
  return picked;
}

export interface ConnectionTrackerOptions {
  clock: Clock;
  /** 0 = no keep-alive: every response says `Connection: close`. */
  keepAliveMs: number;
  lingerMs: number;
}

export class ConnectionTracker {
  private readonly connections = new Map<Socket, ConnectionState>();
  private drainStartedAt: number | undefined;
  private stopSweep: (() => void) | undefined;

  constructor(private readonly server: Server, private readonly options: ConnectionTrackerOptions) {
    server.on('connection', (socket: Socket) => this.track(socket));
    // Prepended so the header is set before the app's own listener can send headers.
    server.prependListener('request', (req, res) => {
      const state = this.track(req.socket);
      state.busy += 1;
      state.responses.add(res);
      if (this.drainStartedAt !== undefined || options.keepAliveMs === 0) res.setHeader('Connection', 'close');
      let done = false;
      res.once('close', () => {
        if (done) return;
        done = true;
        state.busy -= 1;
        state.responses.delete(res);
        state.idleSince = options.clock.now();
      });
    });
  }

  get size(): number {
    return this.connections.size;
  }

  /** Call right after the listening socket was closed. */
  beginDrain(sweepEveryMs = 100): void {
    if (this.drainStartedAt !== undefined) return;
    this.drainStartedAt = this.options.clock.now();
    for (const state of this.connections.values()) {
      for (const res of state.responses) if (!res.headersSent) res.setHeader('Connection', 'close');
    }
    const sweep = (): void => {
      this.closeLingeringIdle();
      if (this.connections.size > 0) this.stopSweep = this.options.clock.setTimer(sweepEveryMs, sweep);
    };
    sweep();
  }

  closeLingeringIdle(): void {
    if (this.drainStartedAt === undefined) return;
    for (const socket of pickIdleToClose(this.connections, this.options.clock.now(), this.drainStartedAt, this.options.lingerMs)) {
      socket.destroy();
      this.connections.delete(socket);
    }
  }

  dispose(): void {
    this.stopSweep?.();
  }

  private track(socket: Socket): ConnectionState {
    let state = this.connections.get(socket);
    if (state === undefined) {
      state = { busy: 0, idleSince: this.options.clock.now(), responses: new Set() };
      this.connections.set(socket, state);
      socket.once('close', () => this.connections.delete(socket));
    }
    return state;
  }
}
