/**
 * Restart backoff for a worker slot that keeps dying. The first death is replaced at once (a one-off crash
 * should cost nothing); each further death in a row doubles the wait, up to a cap; a worker that served for
 * `resetAfterMs` before dying starts the count again. PM2 uses the same shape (×1.5 from 100 ms, capped at
 * 15 s, reset after 30 s up). Pure: callers pass the times.
 */
export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
  /** A worker that served at least this long before dying resets its slot's failure count. */
  resetAfterMs: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 100, factor: 2, maxMs: 15_000, resetAfterMs: 30_000 };

/** Delay before respawning after the `failures`-th death in a row (1-based). */
export function restartDelayMs(failures: number, policy: BackoffPolicy): number {
  if (failures <= 1) return 0;
  return Math.min(policy.maxMs, policy.initialMs * policy.factor ** (failures - 2));
}

/**
 * The failure count after a death. `servedMs` is how long the dead worker had been serving (0 if it never
 * served: a replacement that cannot boot keeps growing the count).
 */
export function nextFailureCount(previous: number, servedMs: number, policy: BackoffPolicy): number {
  return (servedMs >= policy.resetAfterMs ? 0 : previous) + 1;
}
