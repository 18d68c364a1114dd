import { defaultBackoff, nextFailureCount, restartDelayMs } from '../../../src/runtime/backoff.js';

describe('restart backoff', () => {
  it('replaces the first death at once, then doubles from 100 ms up to 15 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => restartDelayMs(n, defaultBackoff))).toEqual([
      0, 100, 200, 400, 800, 1600, 3200, 6400, 12_800, 15_000,
    ]);
  });

  it('counts deaths in a row, and starts over after a worker served 30 s', () => {
    expect(nextFailureCount(0, 0, defaultBackoff)).toBe(1);
    expect(nextFailureCount(4, 29_999, defaultBackoff)).toBe(5);
    expect(nextFailureCount(4, 30_000, defaultBackoff)).toBe(1);
  });
});
