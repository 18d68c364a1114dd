/**
 * The supervisor's brain, modelled on Gunicorn's arbiter (gunicorn/arbiter.py) but pure: it never touches a
 * process, a socket or a timer. The I/O shell (primary.ts) feeds it events (signals, worker messages, exits) with
 * `enqueue`, calls `tick()` from its single loop, and carries out the returned actions (fork, drain, kill,
 * notify systemd, log, exit). Time comes from the injected Clock, so tests run deadlines with a fake one.
 *
 * One tick = Gunicorn's loop body: dispatch queued events, reap, murder hung workers, top the count back up,
 * advance a rolling reload, then report readiness/status and ping the watchdog.
 *
 * Invariants:
 * - READY=1 is sent once every slot has a worker that imported the app, passed `ready()`, and is listening.
 * - A rolling reload replaces one slot at a time and drains the old worker only after its successor serves,
 *   so the number of serving workers never drops below what it was (and node:cluster never closes the listening
 *   socket, which it does when the last worker leaves a round-robin handle).
 * - A worker that cannot boot while nothing else serves (always the case at start-up) halts the master with a
 *   named exit code instead of respawning forever.
 */
import { type BackoffPolicy, defaultBackoff, nextFailureCount, restartDelayMs } from './backoff.js';
import type { Clock } from './clock.js';
import { RuntimeExit } from './exit-codes.js';
import { type BootFailureReason, WORKER_EXIT } from './protocol.js';
import { renderStatus } from './status.js';

export interface ArbiterOptions {
  workers: number;
  /** 0 disables heartbeat supervision. */
  timeoutMs: number;
  gracefulTimeoutMs: number;
  /** 0 disables the boot deadline. */
  bootTimeoutMs: number;
  /** Half of WATCHDOG_USEC, when systemd's watchdog applies to this process. */
  watchdogIntervalMs?: number | undefined;
  /**
   * Losing every listening worker loses the socket: node:cluster's primary closes the fd systemd passed when its
   * last worker leaves it (round-robin scheduling under socket activation; socket-activation.ts).
   */
  listenerDiesWithWorkers: boolean;
  backoff?: BackoffPolicy;
}

export type ArbiterSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP';

export type ArbiterEvent =
  | { type: 'signal'; signal: ArbiterSignal }
  | { type: 'spawned'; key: number; pid: number }
  | { type: 'heartbeat'; key: number }
  | { type: 'serving'; key: number; address: string }
  | { type: 'boot-failed'; key: number; reason: BootFailureReason; message: string }
  | { type: 'exited'; key: number; code: number | null; signal: string | null; error?: string };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type ArbiterAction =
  | { type: 'spawn'; key: number; slot: number; generation: number }
  /**
   * Stop accepting and finish in-flight requests. `booting`: the worker may not have attached its IPC listener yet
   * (Node drops IPC messages nobody listens to), so the shell sends SIGTERM, which is never lost.
   */
  | { type: 'drain'; key: number; booting: boolean }
  | { type: 'kill'; key: number }
  | { type: 'notify'; fields: Record<string, string> }
  /** Where the SIGHUPs stand changed: the shell publishes it for `systemctl reload` to wait on (reload-wait.ts). */
  | { type: 'reload-report'; report: ReloadReport }
  | { type: 'log'; level: LogLevel; msg: string; fields: Record<string, unknown> }
  | { type: 'exit'; code: number };

export type Phase = 'starting' | 'running' | 'stopping' | 'exited';
type KillReason = 'timeout' | 'boot-timeout' | 'drain-timeout';

export interface WorkerRecord {
  key: number;
  slot: number;
  generation: number;
  pid: number | undefined;
  state: 'booting' | 'serving' | 'draining';
  spawnedAt: number;
  lastBeatAt: number;
  servingAt: number | undefined;
  drainDeadline: number | undefined;
  killed: KillReason | undefined;
  bootFailure: { reason: BootFailureReason; message: string } | undefined;
}

interface Slot {
  current: number | undefined;
  /** The new worker of a rolling reload, booting next to `current` until it serves. */
  successor: number | undefined;
  failures: number;
  respawnAt: number | undefined;
}

interface Reload {
  generation: number;
  replaced: number;
  /** The successor being waited for; one at a time. */
  pendingKey: number | undefined;
  /** The SIGHUPs received when it began: it answers all of them (queued ones coalesce into one reload). */
  covers: number;
}

/**
 * For `systemctl reload`, which on systemd 252 returns as soon as ExecReload's `kill -HUP` did (Type=notify-reload,
 * which waits for READY=1, needs 253): `requested` SIGHUPs arrived, the first `answered` of them are done with,
 * the last answer being `result` (a reload that completed, or one that failed or could not happen, with why).
 */
export interface ReloadReport {
  requested: number;
  answered: number;
  result: 'done' | 'failed' | undefined;
  message: string | undefined;
  generation: number;
}

export class Arbiter {
  private phase: Phase = 'starting';
  private readonly queue: ArbiterEvent[] = [];
  private readonly workers = new Map<number, WorkerRecord>();
  private readonly slots: Slot[];
  private readonly backoff: BackoffPolicy;
  /** Ticks happen at least this often, so a long gap between ticks means the master's own loop stalled. */
  private readonly maxTickMs: number;
  private nextKey = 1;
  private generation = 1;
  private reload: Reload | undefined;
  private reloadRequested = false;
  private readonly hups: ReloadReport = { requested: 0, answered: 0, result: undefined, message: undefined, generation: 1 };
  private exitCode: number = RuntimeExit.ok;
  private haltMessage: string | undefined;
  /** Shown in STATUS after a failed reload, until the next reload. */
  private note: string | undefined;
  private lastStatus: string | undefined;
  private lastTickAt: number | undefined;
  private nextWatchdogAt: number | undefined;
  private actions: ArbiterAction[] = [];

  constructor(private readonly options: ArbiterOptions, private readonly clock: Clock) {
    this.backoff = options.backoff ?? defaultBackoff;
    this.maxTickMs = options.timeoutMs > 0 ? Math.max(10, Math.min(1000, options.timeoutMs / 4)) : 1000;
    this.slots = Array.from({ length: options.workers }, () => ({
      current: undefined,
      successor: undefined,
      failures: 0,
      respawnAt: 0,
    }));
  }

  /** Called from signal handlers and I/O callbacks: it only records the event (Gunicorn's SIG_QUEUE). */
  enqueue(event: ArbiterEvent): void {
    this.queue.push(event);
  }

  tick(): ArbiterAction[] {
    this.actions = [];
    if (this.phase === 'exited') return this.actions;
    const now = this.clock.now();
    if (this.lastTickAt === undefined) {
      this.log('info', 'starting', { workers: this.options.workers, timeout_ms: this.options.timeoutMs });
    }
    this.forgiveMasterStall(now);
    for (let event = this.queue.shift(); event !== undefined; event = this.queue.shift()) this.dispatch(event, now);
    this.murderWorkers(now);
    this.manageWorkers(now);
    this.advanceReload(now);
    this.reportReadiness();
    this.finishStop();
    this.pingWatchdog(now);
    this.lastTickAt = now;
    return this.actions;
  }

  /** When the loop must tick next even if no event arrives (deadlines, backoff, watchdog). */
  nextWakeAt(): number | undefined {
    if (this.phase === 'exited') return undefined;
    const times: number[] = [];
    if (this.lastTickAt !== undefined) times.push(this.lastTickAt + this.maxTickMs);
    for (const w of this.workers.values()) {
      if (w.killed !== undefined) continue;
      if (this.options.timeoutMs > 0 && w.servingAt !== undefined) times.push(w.lastBeatAt + this.options.timeoutMs + 1);
      if (w.state === 'booting' && this.options.bootTimeoutMs > 0) times.push(w.spawnedAt + this.options.bootTimeoutMs + 1);
      if (w.drainDeadline !== undefined) times.push(w.drainDeadline);
    }
    for (const slot of this.slots) if (slot.respawnAt !== undefined) times.push(slot.respawnAt);
    if (this.nextWatchdogAt !== undefined) times.push(this.nextWatchdogAt);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  /** A read-only view for tests and the status line. */
  snapshot(): { phase: Phase; serving: number; alive: number; workers: readonly WorkerRecord[]; reloading: boolean } {
    return {
      phase: this.phase,
      serving: this.servingCount(),
      alive: this.workers.size,
      workers: [...this.workers.values()].map((w) => ({ ...w })),
      reloading: this.reload !== undefined,
    };
  }

  // --- dispatch ---------------------------------------------------------------------------------------------

  private dispatch(event: ArbiterEvent, now: number): void {
    if (event.type === 'signal') return this.onSignal(event.signal, now);
    const w = this.workers.get(event.key);
    if (w === undefined) return; // already reaped: a late message from a dead worker
    switch (event.type) {
      case 'spawned':
        w.pid = event.pid;
        this.log('debug', 'worker forked', this.workerFields(w));
        return;
      case 'heartbeat':
        w.lastBeatAt = now;
        return;
      case 'serving':
        if (w.state === 'draining') {
          // Asked to drain while booting and finished booting anyway: ask again, now that it listens for sure.
          this.actions.push({ type: 'drain', key: w.key, booting: false });
          return;
        }
        if (w.state !== 'booting') return;
        w.state = 'serving';
        w.servingAt = now;
        w.lastBeatAt = now; // heartbeat supervision starts here; booting has its own deadline
        this.log('info', 'worker serving', { ...this.workerFields(w), address: event.address, boot_ms: Math.round(now - w.spawnedAt) });
        return;
      case 'boot-failed':
        w.bootFailure = { reason: event.reason, message: event.message };
        return;
      case 'exited':
        return this.onExit(w, event, now);
    }
  }

  private onSignal(signal: ArbiterSignal, now: number): void {
    if (signal === 'SIGHUP') {
      this.hups.requested += 1;
      if (this.phase === 'stopping') {
        this.answerHups('failed', 'the runtime is stopping');
        return this.log('info', 'SIGHUP ignored: stopping', {});
      }
      if (this.phase === 'starting' || this.reload !== undefined) {
        this.reloadRequested = true;
        this.reportHups();
        return this.log('info', 'SIGHUP: reload queued until the current start or reload completes', {});
      }
      return this.beginReload(now);
    }
    if (this.phase === 'stopping') return this.log('info', `${signal} ignored: already stopping`, {});
    this.log('info', `${signal}: graceful stop`, { graceful_timeout_ms: this.options.gracefulTimeoutMs });
    this.beginStop(RuntimeExit.ok, now);
  }

  // --- reaping ----------------------------------------------------------------------------------------------

  private onExit(w: WorkerRecord, event: Extract<ArbiterEvent, { type: 'exited' }>, now: number): void {
    this.workers.delete(w.key);
    const slot = this.slots[w.slot]!;
    const wasCurrent = slot.current === w.key;
    const wasSuccessor = slot.successor === w.key;
    if (wasCurrent) slot.current = undefined;
    if (wasSuccessor) slot.successor = undefined;
    const how = { ...this.workerFields(w), code: event.code, signal: event.signal };

    // Round-robin under socket activation: when the last listening worker leaves, node:cluster closes the
    // primary's fd 3, and a later listen({ fd: 3 }) could hit whatever file reuses that number. Only systemd can
    // give the socket back. (Shared scheduling keeps it: the workers listen on copies they inherited.)
    if (this.options.listenerDiesWithWorkers && this.phase !== 'stopping' && w.servingAt !== undefined && this.servingCount() === 0) {
      this.log('error', 'worker exited', how);
      return this.halt(RuntimeExit.listenerLost, 'no worker left on the socket systemd passed; exiting so systemd restarts the service with it', now);
    }
    if (w.state === 'draining' || this.phase === 'stopping') {
      const level = w.killed === 'drain-timeout' ? 'warn' : 'info';
      return this.log(level, w.killed === 'drain-timeout' ? 'worker killed after the graceful timeout' : 'worker exited after draining', how);
    }

    const failure = w.servingAt === undefined ? this.bootFailureOf(w, event) : undefined;
    if (failure !== undefined) this.log('error', 'worker failed to boot', { ...how, reason: failure.reason, error: failure.message });
    else this.log('warn', w.killed === 'timeout' ? 'worker killed: heartbeat timeout' : 'worker died', how);

    if (this.reload?.pendingKey === w.key) {
      this.abortReload(failure?.message ?? `the new worker exited (${event.signal ?? `code ${String(event.code)}`})`);
    }
    if (wasSuccessor) return; // the old worker of that slot still serves

    if (failure !== undefined && (this.phase === 'starting' || this.servingCount() === 0)) {
      return this.halt(failure.exitCode, `worker failed to boot: ${failure.message}`, now);
    }
    if (wasCurrent) {
      if (slot.successor !== undefined) {
        slot.current = slot.successor; // the reload's new worker takes the slot over
        slot.successor = undefined;
        return;
      }
      const servedMs = w.servingAt === undefined ? 0 : now - w.servingAt;
      slot.failures = nextFailureCount(slot.failures, servedMs, this.backoff);
      const delay = restartDelayMs(slot.failures, this.backoff);
      slot.respawnAt = now + delay;
      this.log(delay > 0 ? 'warn' : 'info', 'respawning worker', { worker: w.slot + 1, in_ms: delay, failures_in_a_row: slot.failures });
    }
  }

  private bootFailureOf(w: WorkerRecord, event: Extract<ArbiterEvent, { type: 'exited' }>): {
    reason: string;
    message: string;
    exitCode: number;
  } {
    if (w.bootFailure !== undefined) {
      return { reason: w.bootFailure.reason, message: w.bootFailure.message, exitCode: WORKER_EXIT[w.bootFailure.reason] };
    }
    const boot = RuntimeExit.workerBootFailed;
    if (w.killed === 'boot-timeout') return { reason: 'boot-timeout', message: `not serving after ${this.options.bootTimeoutMs} ms`, exitCode: boot };
    if (event.error !== undefined) return { reason: 'fork', message: event.error, exitCode: boot };
    if (event.code === RuntimeExit.appLoadFailed) return { reason: 'load', message: 'app could not be loaded (worker exit 4)', exitCode: RuntimeExit.appLoadFailed };
    return { reason: 'exit', message: `exited (${event.signal ?? `code ${String(event.code)}`}) before serving`, exitCode: boot };
  }

  // --- murder (Gunicorn's murder_workers) -------------------------------------------------------------------

  private murderWorkers(now: number): void {
    const { timeoutMs, bootTimeoutMs } = this.options;
    for (const w of this.workers.values()) {
      if (w.killed !== undefined) continue;
      // Until it serves, a worker is judged by the boot deadline only: before Node has loaded our code it cannot
      // beat, and a heavy synchronous import is not a hang (Gunicorn kills those as "WORKER TIMEOUT", a classic
      // complaint).
      if (timeoutMs > 0 && w.servingAt !== undefined && now - w.lastBeatAt > timeoutMs) {
        this.kill(w, 'timeout', `no heartbeat for ${Math.round(now - w.lastBeatAt)} ms (event loop blocked?)`);
      } else if (w.state === 'booting' && bootTimeoutMs > 0 && now - w.spawnedAt > bootTimeoutMs) {
        this.kill(w, 'boot-timeout', `not serving after ${bootTimeoutMs} ms`);
      } else if (w.drainDeadline !== undefined && now >= w.drainDeadline) {
        this.kill(w, 'drain-timeout', 'still busy at the graceful timeout');
      }
    }
  }

  private kill(w: WorkerRecord, reason: KillReason, why: string): void {
    w.killed = reason;
    this.log(reason === 'drain-timeout' ? 'warn' : 'error', 'killing worker (SIGKILL)', { ...this.workerFields(w), reason: why });
    this.actions.push({ type: 'kill', key: w.key });
  }

  /**
   * If the master itself was blocked (swapped out, stopped with SIGSTOP), heartbeats queued in the IPC pipes
   * have not been read yet; judging workers on them would kill healthy ones. Restart their deadlines instead.
   */
  private forgiveMasterStall(now: number): void {
    if (this.lastTickAt === undefined || this.options.timeoutMs <= 0) return;
    const gap = now - this.lastTickAt;
    if (gap <= this.options.timeoutMs / 2) return;
    this.log('warn', 'master event loop stalled; restarting worker heartbeat deadlines', { stalled_ms: Math.round(gap) });
    for (const w of this.workers.values()) w.lastBeatAt = Math.max(w.lastBeatAt, now);
  }

  // --- manage (Gunicorn's manage_workers) -------------------------------------------------------------------

  private manageWorkers(now: number): void {
    if (this.phase === 'stopping' || this.phase === 'exited') return;
    this.slots.forEach((slot, index) => {
      if (slot.current !== undefined || slot.respawnAt === undefined || slot.respawnAt > now) return;
      slot.respawnAt = undefined;
      slot.current = this.spawn(index, now);
    });
  }

  private spawn(slot: number, now: number): number {
    const key = this.nextKey++;
    this.workers.set(key, {
      key,
      slot,
      generation: this.generation,
      pid: undefined,
      state: 'booting',
      spawnedAt: now,
      lastBeatAt: now,
      servingAt: undefined,
      drainDeadline: undefined,
      killed: undefined,
      bootFailure: undefined,
    });
    this.actions.push({ type: 'spawn', key, slot, generation: this.generation });
    return key;
  }

  private drain(key: number, now: number): void {
    const w = this.workers.get(key);
    if (w === undefined || w.state === 'draining') return;
    const booting = w.state === 'booting';
    w.state = 'draining';
    w.drainDeadline = now + this.options.gracefulTimeoutMs;
    this.log('info', 'draining worker', this.workerFields(w));
    this.actions.push({ type: 'drain', key, booting });
  }

  // --- rolling reload (SIGHUP) ------------------------------------------------------------------------------

  private beginReload(now: number): void {
    this.generation += 1;
    this.reload = { generation: this.generation, replaced: 0, pendingKey: undefined, covers: this.hups.requested };
    this.reportHups();
    this.note = undefined;
    this.log('info', 'SIGHUP: rolling reload, one worker at a time', { generation: this.generation });
    // Type=notify-reload (systemd >= 253) wants MONOTONIC_USEC with RELOADING=1; systemd 252 ignores it.
    this.notify({ RELOADING: '1', MONOTONIC_USEC: this.clock.monotonicUsec().toString() });
    this.advanceReload(now);
  }

  private advanceReload(now: number): void {
    if (this.reload === undefined) {
      if (this.reloadRequested && this.phase === 'running') {
        this.reloadRequested = false;
        this.beginReload(now);
      }
      return;
    }
    const reload = this.reload;
    if (reload.pendingKey !== undefined) {
      const next = this.workers.get(reload.pendingKey);
      if (next === undefined || next.state !== 'serving') return; // still booting (a failure aborts in onExit)
      const slot = this.slots[next.slot]!;
      if (slot.successor === next.key) {
        const old = slot.current;
        slot.current = next.key;
        slot.successor = undefined;
        // Only now, with its successor listening, may the old worker stop accepting.
        if (old !== undefined) this.drain(old, now);
      }
      reload.replaced += 1;
      reload.pendingKey = undefined;
    }
    const index = this.slots.findIndex((slot) => {
      const current = slot.current === undefined ? undefined : this.workers.get(slot.current);
      return current !== undefined && current.generation < reload.generation && current.state !== 'draining';
    });
    if (index >= 0) {
      const key = this.spawn(index, now);
      this.slots[index]!.successor = key;
      reload.pendingKey = key;
      return;
    }
    this.reload = undefined;
    this.log('info', 'reload complete', { replaced: reload.replaced, generation: reload.generation });
    this.notify({ READY: '1' });
    this.answerHups('done', undefined, reload.covers);
  }

  private abortReload(message: string): void {
    if (this.reload === undefined) return;
    this.reload = undefined;
    this.reloadRequested = false;
    this.note = `reload failed: ${message}`;
    this.log('error', 'reload failed; keeping the workers that serve', { error: message });
    this.notify({ READY: '1' }); // ends RELOADING=1; STATUS says it failed
    this.answerHups('failed', `${message}; the workers that served keep serving`); // a queued one too: it was dropped
  }

  /** The SIGHUPs up to `upTo` (all so far by default) are answered: `systemctl reload` can return. */
  private answerHups(result: 'done' | 'failed', message: string | undefined, upTo = this.hups.requested): void {
    Object.assign(this.hups, { answered: Math.max(this.hups.answered, upTo), result, message, generation: this.generation });
    this.reportHups();
  }

  private reportHups(): void {
    this.actions.push({ type: 'reload-report', report: { ...this.hups } });
  }

  // --- stop / halt ------------------------------------------------------------------------------------------

  private beginStop(code: number, now: number): void {
    this.phase = 'stopping';
    this.exitCode = code;
    this.reload = undefined;
    this.reloadRequested = false;
    if (this.hups.answered < this.hups.requested) this.answerHups('failed', 'the runtime is stopping');
    for (const slot of this.slots) slot.respawnAt = undefined;
    for (const w of this.workers.values()) this.drain(w.key, now);
    this.notify({ STOPPING: '1' });
  }

  private halt(code: number, message: string, now: number): void {
    this.haltMessage = message;
    this.log('error', `halting: ${message}`, { exit_code: code });
    this.beginStop(code, now);
  }

  private finishStop(): void {
    if (this.phase !== 'stopping' || this.workers.size > 0) return;
    this.phase = 'exited';
    this.log(this.exitCode === RuntimeExit.ok ? 'info' : 'error', 'master exiting', { exit_code: this.exitCode });
    this.actions.push({ type: 'exit', code: this.exitCode });
  }

  // --- readiness, status, watchdog --------------------------------------------------------------------------

  private reportReadiness(): void {
    if (this.phase === 'starting' && this.slots.every((s) => this.workers.get(s.current ?? -1)?.state === 'serving')) {
      this.phase = 'running';
      this.log('info', 'ready: every worker serves', { workers: this.slots.length });
      this.notify({ READY: '1' });
    }
    if (this.status() !== this.lastStatus) this.notify({});
  }

  private pingWatchdog(now: number): void {
    const interval = this.options.watchdogIntervalMs;
    if (interval === undefined || interval <= 0) return;
    if (this.nextWatchdogAt !== undefined && now < this.nextWatchdogAt) return;
    this.actions.push({ type: 'notify', fields: { WATCHDOG: '1' } });
    this.nextWatchdogAt = now + interval;
  }

  /** One datagram: the given fields plus the current STATUS (sd_notify(3) allows several per message). */
  private notify(fields: Record<string, string>): void {
    const status = this.status();
    this.lastStatus = status;
    this.actions.push({ type: 'notify', fields: { ...fields, STATUS: status } });
  }

  private status(): string {
    return renderStatus({
      phase: this.phase,
      workers: this.slots.length,
      serving: this.servingCount(),
      alive: this.workers.size,
      reloadReplaced: this.reload?.replaced,
      haltMessage: this.haltMessage,
      note: this.note,
    });
  }

  private servingCount(): number {
    let n = 0;
    for (const w of this.workers.values()) if (w.state === 'serving') n += 1;
    return n;
  }

  private workerFields(w: WorkerRecord): Record<string, unknown> {
    return { worker: w.slot + 1, worker_pid: w.pid, generation: w.generation };
  }

  private log(level: LogLevel, msg: string, fields: Record<string, unknown>): void {
    this.actions.push({ type: 'log', level, msg, fields });
  }
}
