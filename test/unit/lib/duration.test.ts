import { formatDuration, parseDuration, tryParseDuration } from '../../../src/lib/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['0s', 0],
    [' 10s ', 10_000],
    ['250', 250],
    [750, 750],
    [0, 0],
  ] as const)('%p → %p ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', 'x', '5 s', '5sec', '-1s', '1s-', 's', '1.s', 'ms'])('rejects %p', (input) => {
    expect(tryParseDuration(input)).toBeUndefined();
  });

  it('rejects negative, non-finite and non-duration values with a message saying what is expected', () => {
    expect(tryParseDuration(-1)).toBeUndefined();
    expect(tryParseDuration(Number.NaN)).toBeUndefined();
    expect(tryParseDuration(Infinity)).toBeUndefined();
    expect(tryParseDuration(null)).toBeUndefined();
    expect(() => parseDuration('5 minutes')).toThrow(
      '"5 minutes" is not a duration: expected a number of milliseconds or a string like "500ms", "5s", "2m", "1h"',
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [3_723_000, '1h2m3s'],
    [86_400_000, '1d'],
  ])('%p ms → %p', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });

  it('rejects negative durations', () => {
    expect(() => formatDuration(-1)).toThrow('cannot format -1 as a duration');
  });
});
