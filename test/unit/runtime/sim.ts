/**
 * A simulated fleet for the Arbiter: it carries out the arbiter's actions the way primary.ts + real workers
 * would (fork → serving after bootMs, drain → exit after drainMs, SIGKILL → exit), with time from a FakeClock.
 * Healthy workers heartbeat at every tick (the arbiter ticks at least every timeout/4).
 */
import { Arbiter, type ArbiterAction, type ArbiterEvent, type ArbiterOptions, type ReloadReport } from '../../../src/runtime/arbiter.js';
import type { BootFailureReason } from '../../../src/runtime/protocol.js';
import { FakeClock } from './fake-clock.js';

export interface Behaviour {
  bootMs?: number;
  /** Fail to boot after bootMs: send boot-failed with this reason and exit with the matching code. */
  bootFails?: BootFailureReason;
  /** Exit with this code after bootMs, without a message. */
  exitsAtBoot?: number;
  /** Serve, then die (code 1) this long after serving. */
  crashAfterMs?: number;
  /** Stop heartbeating this long after serving (blocked event loop). */
  hangAfterMs?: number;
  drainMs?: number;
  /** Ignore drain: only SIGKILL ends it. */
  drainHangs?: boolean;
  /** The first drain request never arrives. */
  drainLost?: boolean;
}

export interface SimWorker {
  key: number;
  slot: number;
  generation: number;
  pid: number;
  alive: boolean;
  hung: boolean;
}

export class Sim {
  readonly clock = new FakeClock();
  readonly arbiter: Arbiter;
  readonly workers = new Map<number, SimWorker>();
  readonly notifications: Array<{ t: number; fields: Record<string, string> }> = [];
  /** The reload reports the shell would publish for ExecReload= (reload-report.ts). */
  readonly reloadReports: Array<{ t: number } & ReloadReport> = [];
  readonly logs: Array<{ t: number; level: string; msg: string; fields: Record<string, unknown> }> = [];
  readonly spawns: Array<{ t: number; slot: number; generation: number }> = [];
  readonly kills: Array<{ t: number; key: number }> = [];
  readonly drains: Array<{ t: number; key: number; booting: boolean }> = [];
  /** serving count after every tick, for invariants. */
  readonly servingHistory: Array<{ t: number; serving: number; phase: string }> = [];
  exitCode: number | undefined;
  private pending: Array<{ at: number; seq: number; fire: () => void }> = [];
  private seq = 0;
  private nextPid = 1000;

  constructor(options: Partial<ArbiterOptions>, private readonly behaviourFor: (slot: number, generation: number) => Behaviour = () => ({})) {
    this.arbiter = new Arbiter(
      { workers: 2, timeoutMs: 1000, gracefulTimeoutMs: 5000, bootTimeoutMs: 10_000, listenerDiesWithWorkers: false, ...options },
      this.clock,
    );
  }

  send(event: ArbiterEvent): void {
    this.arbiter.enqueue(event);
    this.step();
  }

  signal(signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP'): void {
    this.send({ type: 'signal', signal });
  }

  /** Run the loop (ticks at the arbiter's wake times and at simulated events) until time `t`. */
  runUntil(t: number): void {
    for (let guard = 0; guard < 100_000; guard += 1) {
      const wake = this.arbiter.nextWakeAt();
      const event = this.pending.reduce((min, p) => Math.min(min, p.at), Infinity);
      const next = Math.min(wake ?? Infinity, event);
      if (next > t || this.exitCode !== undefined) break;
      this.clock.t = Math.max(this.clock.t, next);
      this.step();
    }
    if (this.exitCode === undefined) this.clock.t = Math.max(this.clock.t, t);
  }

  /** One loop iteration; `heartbeats: false` models a master that has not read its IPC pipes yet. */
  step({ heartbeats = true }: { heartbeats?: boolean } = {}): void {
    const due = this.pending.filter((p) => p.at <= this.clock.t).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.pending = this.pending.filter((p) => p.at > this.clock.t);
    for (const p of due) p.fire();
    if (heartbeats) for (const w of this.workers.values()) if (w.alive && !w.hung) this.arbiter.enqueue({ type: 'heartbeat', key: w.key });
    const actions = this.arbiter.tick();
    for (const action of actions) this.apply(action);
    const snap = this.arbiter.snapshot();
    this.servingHistory.push({ t: this.clock.t, serving: snap.serving, phase: snap.phase });
  }

  notified(key: string): Array<{ t: number; fields: Record<string, string> }> {
    return this.notifications.filter((n) => key in n.fields);
  }

  alive(): SimWorker[] {
    return [...this.workers.values()].filter((w) => w.alive);
  }

  private at(delay: number, fire: () => void): void {
    this.pending.push({ at: this.clock.t + delay, seq: this.seq++, fire });
  }

  private exit(w: SimWorker, code: number | null, signal: string | null): void {
    if (!w.alive) return;
    w.alive = false;
    this.arbiter.enqueue({ type: 'exited', key: w.key, code, signal });
  }

  private apply(action: ArbiterAction): void {
    const t = this.clock.t;
    switch (action.type) {
      case 'log':
        this.logs.push({ t, level: action.level, msg: action.msg, fields: action.fields });
        return;
      case 'notify':
        this.notifications.push({ t, fields: action.fields });
        return;
      case 'reload-report':
        this.reloadReports.push({ t, ...action.report });
        return;
      case 'exit':
        this.exitCode = action.code;
        return;
      case 'kill': {
        this.kills.push({ t, key: action.key });
        const w = this.workers.get(action.key);
        if (w !== undefined) this.at(0, () => this.exit(w, null, 'SIGKILL'));
        return;
      }
      case 'drain': {
        const w = this.workers.get(action.key);
        if (w === undefined) return;
        this.drains.push({ t, key: action.key, booting: action.booting });
        const b = this.behaviourFor(w.slot, w.generation);
        if (b.drainLost && this.drains.filter((d) => d.key === w.key).length === 1) return;
        if (!b.drainHangs) this.at(b.drainMs ?? 10, () => this.exit(w, 0, null));
        return;
      }
      case 'spawn': {
        const w: SimWorker = { key: action.key, slot: action.slot, generation: action.generation, pid: this.nextPid++, alive: true, hung: false };
        this.workers.set(w.key, w);
        this.spawns.push({ t, slot: action.slot, generation: action.generation });
        this.arbiter.enqueue({ type: 'spawned', key: w.key, pid: w.pid });
        const b = this.behaviourFor(action.slot, action.generation);
        this.at(b.bootMs ?? 100, () => {
          if (!w.alive) return;
          if (b.bootFails !== undefined) {
            this.arbiter.enqueue({ type: 'boot-failed', key: w.key, reason: b.bootFails, message: `boom (${b.bootFails})` });
            this.exit(w, b.bootFails === 'load' ? 4 : 3, null);
          } else if (b.exitsAtBoot !== undefined) {
            this.exit(w, b.exitsAtBoot, null);
          } else if (!w.hung) {
            this.arbiter.enqueue({ type: 'serving', key: w.key, address: '127.0.0.1:8000' });
            if (b.crashAfterMs !== undefined) this.at(b.crashAfterMs, () => this.exit(w, 1, null));
            if (b.hangAfterMs !== undefined) this.at(b.hangAfterMs, () => void (w.hung = true));
          }
        });
        return;
      }
    }
  }
}
