import { ConnectionBalancer, defaultBalanceOptions, planShed } from '../../../src/runtime/balance.js';

describe('planShed', () => {
  const plan = (...active: number[]) => planShed(active.map((n, i) => [`w${i + 1}`, n] as const), defaultBalanceOptions);

  it('has the busiest worker shed what it holds above the rounded-up mean', () => {
    expect(plan(16, 0)).toEqual({ key: 'w1', count: 8, active: [16, 0] });
    expect(plan(5, 45)).toEqual({ key: 'w2', count: 20, active: [5, 45] });
    expect(plan(30, 10, 10, 10)).toEqual({ key: 'w1', count: 15, active: [30, 10, 10, 10] });
  });

  it('leaves a spread within the margin alone: an excess under 2 connections or under 20% of the mean', () => {
    expect(plan(26, 24)).toBeUndefined(); // excess 1
    expect(plan(29, 21)).toBeUndefined(); // excess 4 < 20% of 25
    expect(plan(31, 19)).toEqual({ key: 'w1', count: 6, active: [31, 19] }); // 6 >= 5
    expect(plan(4, 0)).toEqual({ key: 'w1', count: 2, active: [4, 0] });
    expect(plan(3, 0)).toBeUndefined(); // 3 - ceil(1.5) = 1
    expect(plan(0, 0)).toBeUndefined();
  });

  it('needs two workers', () => {
    expect(plan(50)).toBeUndefined();
    expect(plan()).toBeUndefined();
  });
});

describe('ConnectionBalancer', () => {
  it('sheds once, then waits for the cooldown and a new report from that worker before shedding again', () => {
    const b = new ConnectionBalancer<number>();
    expect(b.report(1, 16, 0)).toBeUndefined(); // alone: nothing to balance against
    expect(b.report(2, 0, 10)).toEqual({ key: 1, count: 8, active: [16, 0] });
    expect(b.report(2, 0, 110)).toBeUndefined(); // worker 1 has not reported since
    expect(b.report(1, 16, 120)).toBeUndefined(); // reported, but within the 300 ms cooldown
    expect(b.report(2, 0, 320)).toEqual({ key: 1, count: 8, active: [16, 0] }); // cooldown over, reported since
    expect(b.report(1, 9, 400)).toBeUndefined(); // spread: 9/7 is within the margin
    expect(b.report(2, 7, 410)).toBeUndefined();
  });

  it('forgets a worker that stops serving: it neither sheds nor counts in the mean', () => {
    const b = new ConnectionBalancer<number>();
    b.report(1, 10, 0);
    b.report(2, 10, 0);
    b.report(3, 0, 0);
    b.remove(3);
    expect(b.report(1, 10, 1000)).toBeUndefined();
    expect(b.receiverFor(1)).toBe(2);
    b.remove(2);
    expect(b.report(1, 10, 2000)).toBeUndefined();
  });

  it('passes handed-over connections to the least busy other worker, counting each until that worker reports', () => {
    const b = new ConnectionBalancer<string>();
    b.report('a', 10, 0);
    b.report('b', 2, 0);
    b.report('c', 3, 0);
    // b/c: 2/3 -> 3/3 -> 4/3 (a tie goes to the first) -> 4/4 -> 5/4 -> 5/5
    expect(Array.from({ length: 5 }, () => b.receiverFor('a'))).toEqual(['b', 'b', 'c', 'b', 'c']);
    b.report('b', 2, 10); // its report replaces the estimate
    expect(b.receiverFor('a')).toBe('b');
    expect(b.receiverFor('b')).toBe('c'); // never back to the worker that handed it over while another serves
  });

  it('gives a connection back to the worker that handed it over when no other serves, and to nobody it does not know', () => {
    const b = new ConnectionBalancer<string>();
    b.report('a', 10, 0);
    expect(b.receiverFor('a')).toBe('a');
    expect(b.receiverFor('gone')).toBe('a');
    b.remove('a');
    expect(b.receiverFor('a')).toBeUndefined();
  });
});
