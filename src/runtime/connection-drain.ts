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
 *
 * Steady state costs one comparison per request, nothing per response and no reference kept to anything of a
 * request (issue 5: the tracker used to cost workers 5-8% CPU per keep-alive request in its listeners, a Set and
 * clock reads). It listens for connections (kept in an array, for the sweep) but for no request or response event
 * and reads no clock. Which response is in flight on a connection is asked only while draining, of Node itself:
 * `socket._httpMessage` is the response being written on it (set by `assignSocket` when the request arrives,
 * cleared in `resOnFinish`; the same in Node 18 to 22). Only a pipelined request, whose response waits in Node's
 * private queue behind the one being written, is remembered on the socket, so that the drain can tell the last one
 * to close. When a connection went idle is observed by the drain's sweep instead of timed per response; seeing it
 * up to one sweep late only makes its linger longer, never shorter.
 *
 * Why not simply remember each connection's last response (as this did until 2026-12): 50 keep-alive connections
 * then keep 50 finished request/response pairs alive through every scavenge, and V8, seeing that much survive,
 * grows the young generation from ~1 to 16 MiB semi-spaces: measured with --trace-gc under wrk, the worker's heap
 * went from 14 to 38 MiB and each scavenge from 0.15 to 0.65 ms (a hand-written server stays at 14 MiB, 0.16 ms).
 *
 * Recycling (`keepAliveRequests`, SHIPIT_KEEPALIVE_REQUESTS, nginx's keepalive_requests): the response to a
 * connection's Nth request says `Connection: close`, Node closes the connection once that response is written,
 * and the client reconnects. With workers accepting on a shared socket, the kernel then hands the new connection
 * to whichever worker accepts first, so long-lived keep-alive connections (wrk's 50, a load balancer's pool) that
 * piled up on one worker get spread again instead of leaving the other cores idle for the connections' lifetime
 * (measured with wrk: even shares within 10 s; see bench/RESULTS.md, "Keep-alive recycling", for what that did to req/s on a
 * 2-core machine). The price is one counter per connection, bumped in the same request hook. Not Node's `server.maxRequestsPerSocket`:
 * checked on the wire with Node 18.20 and 20.20, it says `Connection: close` on the Nth response but leaves the
 * connection open, and answers 503 (without calling the app) to every request after it, pipelined or not.
 * Ours behaves like a response that says `Connection: close` anywhere in Node (and like a drain): a request
 * pipelined behind the Nth has already reached the app when the connection closes, and gets no response; a
 * client retries it on its next connection (RFC 9112 §9.3.2), and clients pipeline only idempotent requests.
 *
 * Balancing (balance.ts, on by default) closes connections the same way, only as many as the master asks for
 * (`shed`), and counts the long-lived ones that carry requests (`activeSince`): one store per request (the
 * interval's number in the connection's record) and one field of the record per connection.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock } from './clock.js';

/**
 * What the tracker keeps of a connection, in one record of fixed shape behind one symbol on the socket. Not a
 * symbol-keyed property on the socket per field (five, until 2026-12): each of those that adds a property to a
 * net.Socket is a megamorphic keyed store with a map transition, and reading one that was never set (`queued`, on
 * nearly every connection) misses along the socket's prototype chain. Counted with callgrind on a `Connection:
 * close` load (one process serving the hello handler through buildServer, 16,000 connections after 8,000 of
 * warm-up, GC excluded, two runs each: 169,990 and 169,990 → 169,380 and 169,340), the record saves ~630
 * instructions per connection, and GC is unchanged.
 */
class Conn {
  /** The last response queued behind the one being written (pipelining); earlier ones finish first (HTTP/1.1 order). */
  queued: ServerResponse | undefined = undefined;
  /** Requests begun on the connection, counted only when recycling is on (keepAliveRequests > 0). */
  served = 0;
  /** The tracker's `epoch` when a request last began on the connection (activeSince). */
  seen = 0;
  constructor(
    /** The connection's index in ConnectionTracker's array; -1 once it closed. */
    public slot: number,
    /** The tracker's `epoch` when the connection opened. */
    readonly born: number,
  ) {}
}
const conn = Symbol('shipit.conn');
/** `_httpMessage`: Node's own (net.Socket, set by ServerResponse#assignSocket, cleared by detachSocket). */
type TrackedSocket = Socket & { _httpMessage?: ServerResponse | null; [conn]: Conn };

/** The response a drain must tell to close on this connection: the last one begun on it, if still in flight. */
function inFlight(socket: TrackedSocket): ServerResponse | undefined {
  const last = socket[conn].queued;
  if (last !== undefined && !last.writableFinished) return last;
  const current = socket._httpMessage;
  return current != null && !current.writableFinished ? current : undefined;
}

/** What the drain's sweep knows about a connection. */
export interface ConnectionState {
  /** A response is in flight on it. */
  busy: boolean;
  /** When a sweep first saw it idle since its last response (undefined while busy). */
  idleSince: number | undefined;
}

/**
 * Pure: the idle connections that have had `lingerMs` of quiet since the drain started. A connection counts as
 * quiet from when a sweep first saw it idle, or from the drain's start if it was idle then.
 */
export function pickIdleToClose<T>(connections: Iterable<[T, ConnectionState]>, now: number, drainStartedAt: number, lingerMs: number): T[] {
  const picked: T[] = [];
  for (const [key, state] of connections) {
    if (!state.busy && state.idleSince !== undefined && now - Math.max(state.idleSince, drainStartedAt) >= lingerMs) picked.push(key);
  }
  return picked;
}

export interface ConnectionTrackerOptions {
  clock: Clock;
  /** 0 = no keep-alive: every response says `Connection: close`. */
  keepAliveMs: number;
  /** The response to a connection's Nth request closes it (see the top of this file); 0 = never. */
  keepAliveRequests: number;
  lingerMs: number;
  /**
   * 'listener' (default): the tracker adds its own prepended 'request' listener. 'caller': the server's request
   * handler calls `onRequest` first thing itself (buildServer does), which saves an emitter dispatch per request.
   */
  requests?: 'listener' | 'caller';
}

interface DrainState {
  startedAt: number;
  states: Map<TrackedSocket, ConnectionState>;
  /** Cancels the next sweep; undefined when none is scheduled (the last connection went, or disposed). */
  stopSweep: (() => void) | undefined;
  /** Runs one sweep now and schedules the next while connections are left (beginDrain). */
  sweep: () => void;
  disposed: boolean;
}

export class ConnectionTracker {
  /**
   * Open connections, for the drain's sweep. An array with swap-remove, not a Set: counted with callgrind on a
   * `Connection: close` load, a Set holding each socket for its lifetime cost ~12,000 instructions per
   * connection (~6% of what Node spends on one), this ~200. Its pop() to length 0 drops V8's backing store, so
   * under one connection at a time each push allocates a new one; a never-shortened array with a count of its own
   * was counted (count-worker.sh shipit 9000 6000, 2026-12-05): 169,385 and 169,681 instructions per connection
   * against 168,781 and 169,929 for this, no difference, so not done.
   */
  private readonly connections: TrackedSocket[] = [];
  private readonly keepAliveRequests: number;
  /** Set once every response must say `Connection: close`: no keep-alive, or draining. */
  private closeEach: boolean;
  /** Responses still to say `Connection: close` because the master asked this worker to shed (balance.ts). */
  private shedLeft = 0;
  /** Bumped by each activeSince(); a request stamps its connection with it. */
  private epoch = 1;
  private drain: DrainState | undefined;

  constructor(server: Server, private readonly options: ConnectionTrackerOptions) {
    this.closeEach = options.keepAliveMs === 0;
    this.keepAliveRequests = options.keepAliveRequests;
    const connections = this.connections;
    const tracker = this;
    // `this` in an emitter's listener is the emitter: one shared function, no closure per connection. Not
    // once(): 'close' fires once anyway, and once() costs a bound wrapper and a removal per connection.
    function forget(this: TrackedSocket): void {
      const own = this[conn];
      const index = own.slot;
      if (index < 0) return;
      own.slot = -1;
      const last = connections.pop()!;
      if (last !== this) {
        connections[index] = last;
        last[conn].slot = index;
      }
    }
    server.on('connection', (socket: TrackedSocket) => {
      socket[conn] = new Conn(connections.length, tracker.epoch);
      connections.push(socket);
      socket.on('close', forget);
      // Draining, and a connection arrived anyway (handed over by the master, handoff.ts): sweep it too.
      const drain = tracker.drain;
      if (drain !== undefined && drain.stopSweep === undefined && !drain.disposed) drain.sweep();
    });
    // Prepended so the header is set before the app's own listener can send headers.
    if (options.requests !== 'caller') server.prependListener('request', this.onRequest);
  }

  /** Must run for every request before the app sees it (see `requests` in the options). */
  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket as TrackedSocket;
    const own = socket[conn];
    own.seen = this.epoch;
    // Not the response being written: it waits behind another (pipelined). The usual case stores nothing.
    if (socket._httpMessage !== res) own.queued = res;
    else if (own.queued !== undefined) own.queued = undefined;
    // The header makes Node end the connection after this response (_http_server.js resOnFinish: `_last`).
    if (this.closeEach || (this.shedLeft > 0 && this.shedLeft-- > 0) || (this.keepAliveRequests > 0 && ++own.served === this.keepAliveRequests)) {
      res.setHeader('Connection', 'close');
    }
  };

  /**
   * How many connections that were open before the previous call began a request since then: the long-lived
   * keep-alive connections that carry load. Idle ones cost a worker nothing, and short ones (a connection per
   * request) are gone before they could be moved, so neither counts.
   */
  activeSince(): number {
    const epoch = this.epoch;
    this.epoch = epoch + 1;
    let active = 0;
    for (const socket of this.connections) {
      const own = socket[conn];
      if (own.seen === epoch && own.born < epoch) active += 1;
    }
    return active;
  }

  /**
   * The master's balancer asks this worker to give up `count` connections (balance.ts): its next `count`
   * responses say `Connection: close`, their clients reconnect, and the kernel hands the new connections to
   * whichever worker accepts first. At most as many as are open; a later ask replaces an unfinished one.
   */
  shed(count: number): void {
    if (this.drain !== undefined) return;
    this.shedLeft = Math.max(0, Math.min(count, this.connections.length));
  }

  get size(): number {
    return this.connections.length;
  }

  /** Call right after the listening socket was closed. */
  beginDrain(sweepEveryMs = 100): void {
    if (this.drain !== undefined) return;
    this.closeEach = true;
    const drain: DrainState = {
      startedAt: this.options.clock.now(),
      states: new Map(),
      stopSweep: undefined,
      sweep: () => {
        drain.stopSweep = undefined;
        this.closeLingeringIdle();
        if (this.connections.length > 0 && !drain.disposed) drain.stopSweep = this.options.clock.setTimer(sweepEveryMs, drain.sweep);
      },
      disposed: false,
    };
    this.drain = drain;
    for (const socket of this.connections) {
      const res = inFlight(socket);
      if (res !== undefined && !res.headersSent) res.setHeader('Connection', 'close');
    }
    drain.sweep();
  }

  /** One sweep: update what is known about each connection, close those idle for the linger time. */
  closeLingeringIdle(): void {
    const drain = this.drain;
    if (drain === undefined) return;
    const now = this.options.clock.now();
    for (const socket of drain.states.keys()) if (socket[conn].slot < 0) drain.states.delete(socket);
    for (const socket of this.connections) {
      // In flight until Node handed all of it to the kernel; then 'finish' follows and the socket awaits the next request.
      const busy = inFlight(socket) !== undefined;
      drain.states.set(socket, { busy, idleSince: busy ? undefined : (drain.states.get(socket)?.idleSince ?? now) });
    }
    // destroy() removes the socket from `connections` through its 'close' event, after this loop.
    for (const socket of pickIdleToClose(drain.states, now, drain.startedAt, this.options.lingerMs)) {
      socket.destroy();
      drain.states.delete(socket);
    }
  }

  dispose(): void {
    const drain = this.drain;
    if (drain === undefined) return;
    drain.disposed = true;
    drain.stopSweep?.();
    drain.stopSweep = undefined;
  }
}
