/**
 * The private protocol between the master and its workers: IPC messages over the node:cluster channel and the
 * environment the master gives each worker. Both ends run the master's copy of the runtime (cluster.fork
 * re-executes the master's main.js), so the protocol never spans two runtime versions.
 *
 * Messages carry a `shipit` tag so they never collide with an app's own `process.send` traffic.
 */
import { RuntimeExit } from './exit-codes.js';

export type BootFailureReason = 'load' | 'ready' | 'listen';

export type WorkerMessage =
  /** The worker's event loop is alive. Sent every heartbeatIntervalMs from a timer in the worker. */
  | { shipit: 'heartbeat' }
  /** Imported, ready() passed, and listening: the worker serves. */
  | { shipit: 'serving'; address: string }
  /** Sent just before exiting with WORKER_EXIT[reason]. */
  | { shipit: 'boot-failed'; reason: BootFailureReason; message: string }
  /** The worker's server is closed; it waits for 'closed-ack' before exiting (see below). */
  | { shipit: 'closed' }
  /**
   * With balancing on (balance.ts): how many of the worker's long-lived connections began a request in the last
   * BALANCE_REPORT_MS (ConnectionTracker#activeSince). Sent every BALANCE_REPORT_MS from when the worker serves.
   */
  | { shipit: 'load'; active: number }
  /** Carries a connection's raw handle (handoff.ts) for the master to pass to another worker. */
  | { shipit: 'handoff' };

export type MasterMessage =
  /**
   * Stop accepting, finish in-flight requests, run shutdown(), exit 0. SIGTERM to a worker does the same; the
   * master prefers this message for a serving worker (an app's own SIGTERM handler, written for plain Node, might
   * exit at once) and SIGTERM for a booting one (a message that arrives before the worker listens for it is lost).
   */
  | { shipit: 'drain' }
  /**
   * The close handshake. node:cluster's primary hands a connection to a worker with an IPC message and forgets it
   * until the worker acks (round_robin_handle.js `handoff`). A worker that exits right after closing its server
   * may die with such a message unread: the connection then stays open in the primary, unanswered, forever (the
   * client hangs). The channel is ordered, so when the master answers 'closed', node:cluster has processed the
   * worker's own close (no more hand-offs to it) and every earlier hand-off message has reached the worker, which
   * rejected it (the primary then gives that connection to another worker). The worker then flushes its last
   * messages and exits.
   */
  | { shipit: 'closed-ack' }
  /**
   * Balancing (balance.ts): answer the next `count` requests with `Connection: close`, and hand the next `count`
   * accepted connections to the master (handoff.ts).
   */
  | { shipit: 'shed'; count: number }
  /** Carries a connection's raw handle that another worker handed over: serve it. */
  | { shipit: 'handoff' };

/** How a worker exits when it cannot boot: the master reads the code even if the message was lost. */
export const WORKER_EXIT: Record<BootFailureReason, number> = {
  load: RuntimeExit.appLoadFailed,
  ready: RuntimeExit.workerBootFailed,
  listen: RuntimeExit.workerBootFailed,
};

/** Internal environment the master sets for each worker (not part of the user-facing contract). */
export const WorkerEnv = {
  slot: 'SHIPIT_WORKER_SLOT',
  generation: 'SHIPIT_WORKER_GENERATION',
  /** JSON: `{"fd":3}` or `{"fd":3,"inherited":true}` under socket activation, else `{"port":8000,"host":"::"}`. */
  listen: 'SHIPIT_WORKER_LISTEN',
} as const;

/**
 * Where a worker listens. `fd` alone: the master's fd of that number, through node:cluster (round-robin: the
 * primary accepts on it). `inherited`: the worker got its own copy of the socket as its fd 3 at fork and listens
 * on it without node:cluster (shared scheduling; socket-activation.ts says why).
 */
export type ListenTarget = { fd: number; inherited?: boolean } | { port: number; host?: string };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const tag = (value as { shipit?: unknown }).shipit;
  if (tag === 'load') return Number.isSafeInteger((value as { active?: unknown }).active);
  return tag === 'heartbeat' || tag === 'serving' || tag === 'boot-failed' || tag === 'closed' || tag === 'handoff';
}

export function isMasterMessage(value: unknown): value is MasterMessage {
  if (typeof value !== 'object' || value === null) return false;
  const tag = (value as { shipit?: unknown }).shipit;
  if (tag === 'shed') return Number.isSafeInteger((value as { count?: unknown }).count);
  return tag === 'drain' || tag === 'closed-ack' || tag === 'handoff';
}

/** Heartbeats are sent several times per timeout so one late timer tick never looks like a hang. */
export function heartbeatIntervalMs(timeoutMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(timeoutMs / 4)));
}
