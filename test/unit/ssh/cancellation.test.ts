import { jest } from '@jest/globals';
import { Cancellation } from '../../../src/ssh/cancellation.js';

const timeout = () => new Error('timed out');
const aborted = () => new Error('aborted');

describe('Cancellation', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('times out from construction, or for a held operation from arm()', () => {
    const now = new Cancellation(100, undefined, timeout, aborted);
    const held = new Cancellation(undefined, undefined, timeout, aborted);
    jest.advanceTimersByTime(150);
    expect(now.reason?.message).toBe('timed out');
    expect(held.reason).toBeNull();
    held.arm(100, undefined, timeout, aborted);
    jest.advanceTimersByTime(99);
    expect(held.reason).toBeNull();
    jest.advanceTimersByTime(1);
    expect(held.reason?.message).toBe('timed out');
  });

  it('takes the signal given to arm(), aborted already or later', () => {
    const controller = new AbortController();
    const held = new Cancellation(undefined, undefined, timeout, aborted);
    held.arm(undefined, controller.signal, timeout, aborted);
    controller.abort();
    expect(held.reason?.message).toBe('aborted');
    const late = new Cancellation(undefined, undefined, timeout, aborted);
    late.arm(1_000, controller.signal, timeout, aborted);
    expect(late.reason?.message).toBe('aborted');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('arms nothing once settled: no timer keeps the process alive, no listener stays on the signal', () => {
    const controller = new AbortController();
    const held = new Cancellation(undefined, undefined, timeout, aborted);
    held.dispose();
    held.arm(120_000, controller.signal, timeout, aborted);
    expect(jest.getTimerCount()).toBe(0);
    controller.abort();
    expect(held.reason).toBeNull();
  });
});
