/**
 * A worker process: load the app, build the server, run `ready()`, listen, then serve until told to drain.
 *
 * Boot order matters: `ready()` runs BEFORE `listen()`, because a worker gets connections the moment it listens
 * (handed over by the primary, or accepted itself under shared scheduling). So "serving" means imported + ready +
 * listening, and the master may count it for READY=1 and retire an old worker in a reload.
 *
 * Heartbeats come from a timer in this process's event loop: a handler that blocks the loop stops them, and the
 * master kills the serving worker after SHIPIT_TIMEOUT (Gunicorn's worker timeout).
 *
 * Leaving is a drain: stop accepting, answer what is in flight (with `Connection: close`), close the handshake with
 * the master so no connection is left in transit to us (protocol.ts), run `shutdown()`, exit 0.
 */
import cluster from 'node:cluster';
import net from 'node:net';
import type { Server } from 'node:http';
import { importApp, type LoadedApp } from './app-loader.js';
import { describeBootFailure } from './boot-failure.js';
import { BALANCE_REPORT_MS } from './balance.js';
import { attachHandoff, type Handoff } from './handoff.js';
import type { Clock } from './clock.js';
import type { RuntimeConfig } from './config.js';
import type { ConnectionTracker } from './connection-drain.js';
import { buildServer } from './http-server.js';
import { errorFields, type LogFn } from './log.js';
import {
  type BootFailureReason,
  heartbeatIntervalMs,
  isMasterMessage,
  type ListenTarget,
  WORKER_EXIT,
  WorkerEnv,
  type WorkerMessage,
} from './protocol.js';

export interface WorkerOptions {
  config: RuntimeConfig;
  listen: ListenTarget;
  keepAliveExplicit: boolean;
  clock: Clock;
  log: LogFn;
  /** SHIPIT_ACCESS_LOG=1: where the per-request lines go (batched, see log.ts). */
  accessLog: LogFn | undefined;
  /** The master balances connections (config.ts balancing): report the active ones, shed when told. */
  balance: boolean;
}

/** How often a worker whose app's ready() has not settled says so (the first time after as long). */
export const READY_NOTICE_MS = 5_000;

export async function runWorker(options: WorkerOptions): Promise<void> {
  const { config, clock, log } = options;
  let app: LoadedApp | undefined;
  let built: { server: Server; tracker: ConnectionTracker } | undefined;
  /** From the listen() call on, node:cluster may hand us connections: leaving then takes the full drain. */
  let listening: 'no' | 'in-progress' | 'yes' = 'no';
  let draining = false;
  let onClosedAck: (() => void) | undefined;

  const send = (message: WorkerMessage, done?: () => void): void => {
    if (process.send === undefined || !process.connected) return done?.();
    try {
      process.send(message, undefined, {}, () => done?.());
    } catch {
      done?.(); // the channel closed under us: the master is gone, cluster's disconnect handler exits us
    }
  };

  if (config.timeoutMs > 0) {
    const every = heartbeatIntervalMs(config.timeoutMs);
    const beat = (): void => {
      send({ shipit: 'heartbeat' });
      clock.setTimer(every, beat);
    };
    beat();
  }

  const exit = (code: number): never => process.exit(code);

  /** Exit once our last IPC messages (acks for rejected connections among them) are written: the channel is a
   * stream, so the callback of the last message means every earlier one left too. */
  const flushAndExit = (code: number): void => {
    clock.setTimer(1000, () => exit(code)); // if the callback never comes
    send({ shipit: 'heartbeat' }, () => exit(code));
  };

  const failBoot = (reason: BootFailureReason, error: unknown): void => {
    log('error', reason === 'load' ? 'app could not be loaded' : 'worker failed to boot', { reason, error: errorFields(error) });
    // Where it threw, and the host's Node when the error is one a missing API gives (boot-failure.ts).
    const message = describeBootFailure(error, process.version, process.cwd());
    send({ shipit: 'boot-failed', reason, message: message.slice(0, 500) });
    flushAndExit(WORKER_EXIT[reason]);
  };

  const closeHandshake = (timeoutMs: number): Promise<void> =>
    new Promise((resolve) => {
      onClosedAck = resolve;
      clock.setTimer(timeoutMs, resolve);
      send({ shipit: 'closed' });
    });

  /** Connections handed to us by the master while draining (handoff.ts) are not the listener's: wait for them too. */
  const noConnectionsLeft = (tracker: ConnectionTracker): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => void (tracker.size === 0 ? resolve() : clock.setTimer(50, check));
      check();
    });

  const finish = async (): Promise<void> => {
    await closeHandshake(1000); // see protocol.ts: no connection may be left in flight to us
    if (built !== undefined) {
      await noConnectionsLeft(built.tracker);
      built.tracker.dispose();
    }
    if (app?.shutdown !== undefined) {
      try {
        await app.shutdown();
      } catch (error) {
        log('error', 'shutdown() threw', { error: errorFields(error) });
      }
    }
    log('info', 'worker exiting');
    flushAndExit(0);
  };

  const closeServer = (why: string): void => {
    const { server, tracker } = built!;
    log('info', 'draining: no new connections; finishing in-flight requests', { why, connections: tracker.size });
    // net.Server's close, not http.Server's: the latter (Node 19+) also destroys every idle connection at once,
    // including ones whose first request is still in flight (see connection-drain.ts).
    net.Server.prototype.close.call(server, () => void finish());
    tracker.beginDrain();
  };

  const drain = (why: string): void => {
    if (draining) return;
    draining = true;
    if (listening === 'no') {
      // Never listened: no connection can be on its way to us, nothing to finish.
      log('info', 'drain requested while booting; exiting', { why });
      exit(0);
    }
    if (listening === 'yes') closeServer(why);
    // 'in-progress': closeServer runs as soon as listen() returns
  };

  process.on('SIGTERM', () => drain('SIGTERM'));
  // The master coordinates: Ctrl-C or a hang-up reaches the whole process group, not only the master.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  let handoff: Handoff | undefined;
  process.on('message', (message: unknown, handle: unknown) => {
    if (!isMasterMessage(message)) return;
    if (message.shipit === 'drain') drain('master');
    else if (message.shipit === 'shed') {
      if (!draining) handoff?.shed(message.count);
    } else if (message.shipit === 'handoff') {
      if (handle !== undefined) receiveHandoff(handle);
    } else onClosedAck?.();
  });

  /** Sends a connection's handle to the master; `done` once it left (or with the error if it cannot). */
  const passHandle = (handle: unknown, done: (error?: Error) => void): void => {
    if (process.send === undefined || !process.connected) return done(new Error('no channel to the master'));
    try {
      process.send({ shipit: 'handoff' } satisfies WorkerMessage, handle as net.Socket, {}, (error: Error | null) => done(error ?? undefined));
    } catch (error) {
      done(error as Error);
    }
  };

  const receiveHandoff = (handle: unknown): void => {
    if (handoff !== undefined) return handoff.receive(handle);
    // The master passes connections only to workers that balance and serve (they report; see primary.ts passOn).
    log('warn', 'a connection was handed to a worker that does not balance; closed');
    (handle as { close(): void }).close();
  };
  process.on('uncaughtException', (error) => {
    log('error', 'uncaught exception; worker exiting', { error: errorFields(error) });
    exit(1);
  });

  try {
    // A misnamed hook is said once, by the first slot's worker (as the SIGTERM handler below), not by every worker.
    app = await importApp(config.app, process.cwd(), (message) => void (process.env[WorkerEnv.slot] === '1' && log('warn', message)));
  } catch (error) {
    return failBoot('load', error);
  }
  try {
    built = await buildServer(app, {
      clock,
      log,
      keepAliveMs: config.keepAliveMs,
      keepAliveExplicit: options.keepAliveExplicit,
      keepAliveRequests: config.keepAliveRequests,
      accessLog: options.accessLog,
      // A keep-alive connection idle this long after a drain began is closed; busy ones close after a response.
      lingerMs: Math.min(1000, config.gracefulTimeoutMs / 2),
    });
  } catch (error) {
    return failBoot('load', error);
  }
  if (app.ready !== undefined) {
    // A ready() that never settles leaves the master waiting, systemd without READY=1, and the journal without a
    // word: a deploy then fails on its deadline with "starting" as the app's last line. Say, while it lasts,
    // what this worker waits for, so the last lines a failed start shows name it.
    const started = clock.now();
    let cancelNotice = (): void => {};
    const notice = (): void => {
      log('warn', "waiting for the app's ready() to settle", { waited_ms: Math.round(clock.now() - started) });
      cancelNotice = clock.setTimer(READY_NOTICE_MS, notice);
    };
    cancelNotice = clock.setTimer(READY_NOTICE_MS, notice);
    try {
      await app.ready();
    } catch (error) {
      return failBoot('ready', error);
    } finally {
      cancelNotice();
    }
  }
  warnOfOwnSigtermHandler(log);
  let address: string;
  listening = 'in-progress';
  try {
    address = await listen(built.server, options.listen, config.backlog);
  } catch (error) {
    return failBoot('listen', error);
  }
  listening = 'yes';
  if (draining) return closeServer('drain requested while listening');
  send({ shipit: 'serving', address });
  if (options.balance) {
    handoff = attachHandoff(built.server, built.tracker, clock, passHandle);
    reportLoad(built.tracker);
  }

  /**
   * Balancing (balance.ts): the active connections every BALANCE_REPORT_MS until a drain, also when unchanged
   * (the master decides on reports, and a lasting pile-up changes nothing).
   */
  function reportLoad(tracker: ConnectionTracker): void {
    const report = (): void => {
      if (draining) return;
      send({ shipit: 'load', active: tracker.activeSince() });
      clock.setTimer(BALANCE_REPORT_MS, report);
    };
    report();
  }
}

/**
 * An app written for plain Node often cleans up in its own `process.on('SIGTERM')`. Here it never runs when the
 * service stops, restarts or reloads: the master stops a serving worker with a message (protocol.ts: such a
 * handler might exit at once, cutting the requests in flight), and systemd's SIGTERM goes to the master only
 * (KillMode=mixed). The app's cleanup would be skipped without a word: say so, once per start (worker 1), with
 * the hook that does run. Checked once import and ready() are done, where such handlers are registered.
 */
function warnOfOwnSigtermHandler(log: LogFn): void {
  // One listener is the runtime's own (runWorker).
  if (process.listenerCount('SIGTERM') <= 1 || process.env[WorkerEnv.slot] !== '1') return;
  log('warn', "the app registers its own SIGTERM handler, which does not run when the service stops, restarts or reloads: the runtime stops a worker by message and then calls the app's exported shutdown(), once its requests are done; move the cleanup there");
}

function listen(server: Server, target: ListenTarget, backlog: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const onListening = (): void => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'string' ? address : address === null ? 'unknown' : `${address.address}:${address.port}`);
    };
    // The backlog also for an inherited fd: listen() there re-applies it (config.ts, backlog). For an fd, Node
    // reads the backlog from the second argument only, not from the options object (lib/net.js, Server#listen).
    if ('fd' in target && target.inherited === true) listenOnOwnFd(server, target.fd, backlog, onListening);
    else if ('fd' in target) server.listen({ fd: target.fd }, backlog, onListening);
    else server.listen(target.host === undefined ? { port: target.port, backlog } : { port: target.port, host: target.host, backlog }, onListening);
  });
}

/**
 * Listens on an fd of this process's own (the socket the master passed at fork), not through node:cluster: in a
 * worker, `listen({ fd })` always asks the primary for ITS fd of that number (lib/net.js listenInCluster ignores
 * `exclusive` for an fd), and the primary closes that fd once its last worker leaves it (shared_handle.js
 * `remove`), which loses the socket systemd passed. listenInCluster opens the handle itself where
 * `cluster.isPrimary` holds, so it holds for this one synchronous call.
 */
function listenOnOwnFd(server: Server, fd: number, backlog: number, onListening: () => void): void {
  const flags = cluster as { isPrimary: boolean };
  try {
    flags.isPrimary = true;
  } catch {
    // A Node whose cluster.isPrimary cannot be set: through node:cluster then. The master's fd 3 is the same
    // socket, so this serves all the same; only a loss of every worker at once would cost the socket again.
  }
  try {
    server.listen({ fd }, backlog, onListening);
  } finally {
    if (flags.isPrimary) flags.isPrimary = false;
  }
}
