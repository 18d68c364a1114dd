/**
 * The master's I/O shell around the pure Arbiter: it owns node:cluster, signals, timers and sd_notify, and has
 * exactly one loop. Signal handlers and worker callbacks only enqueue an event and wake the loop (Gunicorn's
 * SIG_QUEUE + wakeup pipe); the loop runs `arbiter.tick()`, carries out the actions, and sleeps until the next
 * deadline the arbiter names. Because WATCHDOG=1 is sent from that loop, a wedged master stops pinging and
 * systemd's WatchdogSec= restarts it.
 */
import cluster, { type Worker } from 'node:cluster';
import { readFileSync, realpathSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Arbiter, type ArbiterAction, type ArbiterSignal, type ReloadReport } from './arbiter.js';
import { ConnectionBalancer, defaultBalanceOptions, parseProcStat, type CpuSample, type Shed } from './balance.js';
import type { Clock } from './clock.js';
import type { RuntimeConfig } from './config.js';
import type { LogFn } from './log.js';
import type { Notifier } from './notify.js';
import { isWorkerMessage, type ListenTarget, type MasterMessage, WorkerEnv } from './protocol.js';
import { publishReloadReport, reloadReportDir } from './reload-report.js';
import { SD_LISTEN_FDS_START } from './socket-activation.js';

export interface PrimaryOptions {
  config: RuntimeConfig;
  listen: ListenTarget;
  clock: Clock;
  log: LogFn;
  notifier: Notifier;
  watchdogIntervalMs: number | undefined;
  /** Called with the exit code once the notifier flushed; main.ts exits the process. */
  onExit: (code: number) => void;
  /** Balance keep-alive connections over the workers (config.ts balancing, balance.ts): only while a CPU idles, or always. */
  balance: 'auto' | 'always' | undefined;
}

/** The machine's CPU counters (balance.ts CpuSample), or undefined where /proc/stat cannot be read. */
function readCpuSample(): CpuSample | undefined {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'latin1'));
  } catch {
    return undefined;
  }
}

const SIGNALS: readonly ArbiterSignal[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

export function runPrimary(options: PrimaryOptions): void {
  const { config, clock, log, notifier } = options;
  const arbiter = new Arbiter(
    {
      workers: config.workers,
      timeoutMs: config.timeoutMs,
      gracefulTimeoutMs: config.gracefulTimeoutMs,
      bootTimeoutMs: config.bootTimeoutMs,
      watchdogIntervalMs: options.watchdogIntervalMs,
      listenerDiesWithWorkers: 'fd' in options.listen && options.listen.inherited !== true,
    },
    clock,
  );
  const workers = new Map<number, Worker>();
  const balancer =
    options.balance === undefined
      ? undefined
      : new ConnectionBalancer<number>({ ...defaultBalanceOptions, ...(options.balance === 'always' ? { minIdleCpus: 0 } : {}) }, readCpuSample);
  /** Told to drain: a report still on its way from them must not count them in again. */
  const leaving = new Set<number>();
  /**
   * Handed-over connections whose message to a worker has not left yet: if the worker dies first, the send's
   * callback never comes, and our copy would keep the connection open (its client hanging) for nobody.
   */
  const inTransit = new Map<Worker, Set<{ close(): void }>>();
  let wakeScheduled = false;
  let cancelDeadline: (() => void) | undefined;
  let exiting = false;
  let warnedOwnListen = false;

  const wake = (): void => {
    if (wakeScheduled || exiting) return;
    wakeScheduled = true;
    clock.setTimer(0, loop);
  };

  const loop = (): void => {
    wakeScheduled = false;
    cancelDeadline?.();
    cancelDeadline = undefined;
    for (const action of arbiter.tick()) execute(action);
    const at = arbiter.nextWakeAt();
    if (at !== undefined && !exiting) cancelDeadline = clock.setTimer(at - clock.now(), loop);
  };

  const execute = (action: ArbiterAction): void => {
    switch (action.type) {
      case 'log':
        return log(action.level, action.msg, action.fields);
      case 'notify':
        return notifier.notify(action.fields);
      case 'reload-report':
        return publishReload(action.report);
      case 'spawn':
        return spawn(action.key, action.slot, action.generation);
      case 'drain': {
        balancer?.remove(action.key);
        leaving.add(action.key);
        const worker = workers.get(action.key);
        if (worker === undefined) return;
        if (action.booting) {
          worker.process.kill('SIGTERM'); // same meaning to the worker, and never lost (see ArbiterAction)
          return;
        }
        try {
          worker.send({ shipit: 'drain' } satisfies MasterMessage);
        } catch {
          worker.process.kill('SIGTERM');
        }
        return;
      }
      case 'kill':
        workers.get(action.key)?.process.kill('SIGKILL');
        return;
      case 'exit':
        exiting = true;
        cancelDeadline?.();
        void notifier.flush(2000).then(() => options.onExit(action.code));
        return;
    }
  };

  // An inherited socket (socket-activation.ts) becomes each worker's fd 3: stdio's fourth entry is the master's
  // fd, and the IPC channel moves to fd 4.
  const inherited = 'fd' in options.listen && options.listen.inherited === true ? options.listen.fd : undefined;
  const stdio = inherited === undefined ? {} : { stdio: ['inherit', 'inherit', 'inherit', inherited, 'ipc'] };
  const workerListen: ListenTarget = inherited === undefined ? options.listen : { fd: SD_LISTEN_FDS_START, inherited: true };

  const spawn = (key: number, slot: number, generation: number): void => {
    let worker: Worker;
    try {
      // Resolved at every fork: with SHIPIT_APP_DIR pointing at a `current` symlink, a reload after the
      // symlink moved runs the new release (systemd's cwd is the directory resolved at start).
      const cwd = realpathSync(config.appDir ?? process.cwd());
      cluster.setupPrimary({ cwd, ...stdio });
      worker = cluster.fork({
        [WorkerEnv.slot]: String(slot + 1),
        [WorkerEnv.generation]: String(generation),
        [WorkerEnv.listen]: JSON.stringify(workerListen),
        // The master alone speaks to systemd; an app's own sd_notify from a worker would confuse it.
        // (child_process drops variables whose value is undefined.)
        NOTIFY_SOCKET: undefined,
        WATCHDOG_USEC: undefined,
        WATCHDOG_PID: undefined,
      });
    } catch (error) {
      arbiter.enqueue({ type: 'exited', key, code: null, signal: null, error: `could not fork: ${String(error)}` });
      return wake();
    }
    workers.set(key, worker);
    if (worker.process.pid !== undefined) arbiter.enqueue({ type: 'spawned', key, pid: worker.process.pid });
    worker.on('message', (message: unknown, handle: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.shipit === 'handoff') {
        if (handle !== undefined) passOn(key, handle);
        return;
      }
      if (message.shipit === 'closed') {
        // The close handshake (protocol.ts): plumbing between node:cluster and the worker, not supervision.
        try {
          worker.send({ shipit: 'closed-ack' } satisfies MasterMessage);
        } catch {
          // the worker is already gone
        }
        return;
      }
      if (message.shipit === 'load') {
        // Plumbing too: the arbiter supervises workers, the balancer only moves connections between serving ones.
        if (leaving.has(key)) return;
        const shed = balancer?.report(key, message.active, clock.now());
        if (shed !== undefined) shedOn(shed);
        return;
      }
      if (message.shipit === 'heartbeat') arbiter.enqueue({ type: 'heartbeat', key });
      else if (message.shipit === 'serving') arbiter.enqueue({ type: 'serving', key, address: message.address });
      else arbiter.enqueue({ type: 'boot-failed', key, reason: message.reason, message: message.message });
      wake();
    });
    worker.on('listening', (address: { port?: number; addressType?: number | string }) => {
      if (warnedOwnListen || !appListensItself(options.listen, address)) return;
      warnedOwnListen = true;
      log('warn', `the app listens on port ${address.port} itself: that port is not the service's socket, so the socket unit, zero-downtime restarts and shipit's readiness gate do not cover it; serve through the exported handler, which the runtime puts on the service's socket (PORT)`, { worker: slot + 1, port: address.port });
    });
    worker.on('error', (error) => log('warn', 'worker IPC error', { worker: slot + 1, error: error.message }));
    worker.on('exit', (code, signal) => {
      workers.delete(key);
      balancer?.remove(key);
      leaving.delete(key);
      for (const handle of inTransit.get(worker) ?? []) handle.close();
      inTransit.delete(worker);
      arbiter.enqueue({ type: 'exited', key, code, signal });
      wake();
    });
  };

  /**
   * A connection a worker handed over (handoff.ts): to the least-busy other serving worker. Our copy of the handle
   * is closed once the message left; a connection nobody can take is closed (its client reconnects).
   */
  const passOn = (from: number, handle: unknown): void => {
    const native = handle as { close(): void };
    const to = balancer?.receiverFor(from);
    let worker = to === undefined ? undefined : workers.get(to);
    // No other worker serves (all are draining: a stop): back to the one that accepted it, which serves it.
    if (worker === undefined || !worker.isConnected()) worker = workers.get(from);
    if (worker === undefined || !worker.isConnected()) return native.close();
    const target = worker;
    let pending = inTransit.get(target);
    if (pending === undefined) inTransit.set(target, (pending = new Set()));
    pending.add(native);
    const sent = (): void => {
      pending.delete(native);
      native.close();
    };
    try {
      target.send({ shipit: 'handoff' } satisfies MasterMessage, handle as Socket, {}, sent);
    } catch {
      sent();
    }
  };

  const reportDir = reloadReportDir(process.env);
  /** For ExecReload= to wait on (reload-report.ts); without a RuntimeDirectory= (not under systemd) nobody waits. */
  const publishReload = (report: ReloadReport): void => {
    if (reportDir === undefined) return;
    try {
      publishReloadReport(reportDir, { ...report, pid: process.pid });
    } catch (error) {
      log('warn', 'could not write the reload report; `systemctl reload` will not see the reload end', { dir: reportDir, error: String(error) });
    }
  };

  const shedOn = (shed: Shed<number>): void => {
    const worker = workers.get(shed.key);
    if (worker === undefined) return;
    log('debug', 'balancing: worker sheds keep-alive connections', {
      worker_pid: worker.process.pid,
      count: shed.count,
      active: shed.active,
      ...(shed.idleCpus === undefined ? {} : { idle_cpus: shed.idleCpus }),
    });
    try {
      worker.send({ shipit: 'shed', count: shed.count } satisfies MasterMessage);
    } catch {
      // the worker is already gone; its exit removes it from the balancer
    }
  };

  for (const signal of SIGNALS) {
    process.on(signal, () => {
      arbiter.enqueue({ type: 'signal', signal });
      wake();
    });
  }
  wake();
}

/**
 * A server the app started itself, next to the runtime's (an app written for plain Node keeps its
 * `app.listen(3000)`): node:cluster tells the primary of every listen() in a worker. The runtime's own listen on
 * an inherited socket bypasses node:cluster (worker.ts listenOnOwnFd), one on an fd has no port, and one on a port
 * has the configured port (0, the tests' "any port", is the runtime's own too).
 */
export function appListensItself(target: ListenTarget, address: { port?: number; addressType?: number | string }): boolean {
  if (typeof address.port !== 'number' || address.port <= 0 || address.addressType === -1) return false;
  return !('port' in target) || (target.port !== 0 && target.port !== address.port);
}
