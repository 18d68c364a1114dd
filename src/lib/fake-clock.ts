import { abortReason, type Clock } from './clock.js';

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * A virtual clock for tests of code that only awaits promises (the in-memory fleet, the supervisor logic).
 * Whenever the event loop has drained every microtask (a setImmediate fires) and sleepers are pending, time
 * jumps to the earliest deadline and that sleeper wakes. Concurrent sleeps therefore overlap as they would
 * in real time, and a 10-minute deadline takes microseconds.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private sleepers: Sleeper[] = [];
  private scheduled = false;

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const sleeper: Sleeper = { at: this.current + Math.max(0, ms), seq: this.seq++, resolve };
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(abortReason(signal!));
      };
      sleeper.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
      this.schedule();
    });
  }

  /** Moves time forward by hand (for tests that interleave their own actions). */
  advance(ms: number): void {
    this.current += ms;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.sleepers.length === 0) return;
      this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.sleepers.shift()!;
      this.current = Math.max(this.current, next.at);
      next.resolve();
      if (this.sleepers.length > 0) this.schedule();
    });
  }
}
