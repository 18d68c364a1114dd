/**
 * Time as a dependency (STYLE.md habit 6): the arbiter and the drain logic read time only through a Clock, so
 * tests drive backoff, heartbeat deadlines and drains with a fake clock instead of sleeping.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Milliseconds on a monotonic clock: never jumps when the wall clock is set (NTP, DST, an operator). */
  now(): number;
  /** CLOCK_MONOTONIC in microseconds, the clock sd_notify(3)'s MONOTONIC_USEC= is defined against. */
  monotonicUsec(): bigint;
  /** Calls `fn` once after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/**
 * process.hrtime.bigint() is libuv's uv_hrtime(), i.e. clock_gettime(CLOCK_MONOTONIC) on Linux, the same clock
 * systemd compares MONOTONIC_USEC against. `now()` reads the same clock through performance.now() (uv_hrtime
 * relative to the process's start), which allocates no BigInt: the access log reads it twice per request.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  monotonicUsec: () => process.hrtime.bigint() / 1000n,
  setTimer(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(handle);
  },
};
