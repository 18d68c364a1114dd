/**
 * A worker process: load the app, build the server, run `ready()`, listen, then serve until told to drain.
 *
 * Boot order matters: `ready()` runs BEFORE `listen()`, because under round-robin scheduling the primary starts
 * handing connections to a worker the moment it listens. So "serving" means imported + ready + listening, and
 * the master may count it for READY=1 and retire an old worker in a reload.
 *
 * Heartbeats come from a timer in this process's event loop: a handler that blocks the loop stops them, and the
 * master kills the worker after SHIPIT_TIMEOUT (Gunicorn's worker timeout).
 */
import net from 'node:net';
import type { Server } from 'node:http';
import { importApp, type LoadedApp } from './app-loader.js';
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
  type WorkerMessage,
} from './protocol.js';

export interface WorkerOptions {
  config: RuntimeConfig;
  listen: ListenTarget;
  keepAliveExplicit: boolean;
  clock: Clock;
  log: LogFn;
}

export async function runWorker(options: WorkerOptions): Promise<void> {
  const { config, clock, log } = options;
  let app: LoadedApp | undefined;
  let served: { server: Server; tracker: ConnectionTracker } | undefined;
  let draining = false;

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

  const failBoot = (reason: BootFailureReason, error: unknown): void => {
    log('error', reason === 'load' ? 'app could not be loaded' : 'worker failed to boot', { reason, error: errorFields(error) });
    const message = error instanceof Error ? error.message : String(error);
    clock.setTimer(1000, () => exit(WORKER_EXIT[reason])); // if the IPC callback never comes
    send({ shipit: 'boot-failed', reason, message: message.slice(0, 500) }, () => exit(WORKER_EXIT[reason]));
  };

  const finish = async (): Promise<void> => {
    served?.tracker.dispose();
    if (app?.shutdown !== undefined) {
      try {
        await app.shutdown();
      } catch (error) {
        log('error', 'shutdown() threw', { error: errorFields(error) });
      }
    }
    log('info', 'worker exiting');
    exit(0);
  };

  const drain = (why: string): void => {
    if (draining) return;
    draining = true;
    if (served === undefined) {
      // Not listening yet: no request to finish (process.exit is synchronous, so boot goes no further).
      log('info', 'drain requested while booting; exiting', { why });
      exit(0);
      return;
    }
    log('info', 'draining: no new connections; finishing in-flight requests', { why, connections: served.tracker.size });
    // net.Server's close, not http.Server's: the latter (Node 19+) also destroys every idle connection at once,
    // including ones whose first request is still in flight (see connection-drain.ts).
    net.Server.prototype.close.call(served.server, () => void finish());
    served.tracker.beginDrain();
  };

  process.on('SIGTERM', () => drain('SIGTERM'));
  // The master coordinates: Ctrl-C or a hang-up reaches the whole process group, not only the master.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  process.on('message', (message: unknown) => {
    if (isMasterMessage(message)) drain('master');
  });
  process.on('uncaughtException', (error) => {
    log('error', 'uncaught exception; worker exiting', { error: errorFields(error) });
    exit(1);
  });

  try {
    app = await importApp(config.app, process.cwd());
  } catch (error) {
    return failBoot('load', error);
  }
  let built: { server: Server; tracker: ConnectionTracker };
  try {
    built = await buildServer(app, {
      clock,
      log,
      keepAliveMs: config.keepAliveMs,
      keepAliveExplicit: options.keepAliveExplicit,
      accessLog: config.accessLog,
      // A keep-alive connection idle this long after a drain began is closed; busy ones close after a response.
      lingerMs: Math.min(1000, config.gracefulTimeoutMs / 2),
    });
  } catch (error) {
    return failBoot('load', error);
  }
  if (app.ready !== undefined) {
    try {
      await app.ready();
    } catch (error) {
      return failBoot('ready', error);
    }
  }
  let address: string;
  try {
    address = await listen(built.server, options.listen);
  } catch (error) {
    return failBoot('listen', error);
  }
  served = built;
  send({ shipit: 'serving', address });
}

function listen(server: Server, target: ListenTarget): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const onListening = (): void => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'string' ? address : address === null ? 'unknown' : `${address.address}:${address.port}`);
    };
    if ('fd' in target) server.listen({ fd: target.fd }, onListening);
    else server.listen(target.host === undefined ? { port: target.port } : { port: target.port, host: target.host }, onListening);
  });
}
