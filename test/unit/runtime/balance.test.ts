import { ConnectionBalancer, defaultBalanceOptions, idleCpusBetween, parseProcStat, planShed, type CpuSample } from '../../../src/runtime/balance.js';

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

/**
 * A machine of `cpus` CPUs whose idle share the test sets: each sample advances the counters by the time passed
 * since the last one (1 tick = 1 ms per CPU).
 */
function fakeCpu(cpus: number) {
  let at = 0;
  let sample: CpuSample = { idle: 0, total: 0, cpus };
  let idleCpus = cpus;
  const state = { reads: 0, now: 0 };
  /** Accrue the time up to now at the current idle level. */
  const advance = (): void => {
    const ms = state.now - at;
    at = state.now;
    sample = { idle: sample.idle + ms * idleCpus, total: sample.total + ms * cpus, cpus };
  };
  const read = (): CpuSample => {
    advance();
    state.reads += 1;
    return sample;
  };
  /** From now on, this many CPUs idle. */
  const setIdle = (value: number): void => {
    advance();
    idleCpus = value;
  };
  return { state, read, setIdle };
}

describe('ConnectionBalancer, only where a CPU is free (SHIPIT_BALANCE=auto)', () => {
  const at = (cpu: ReturnType<typeof fakeCpu>, ms: number) => ((cpu.state.now = ms), ms);

  it('sheds once the imbalance has lasted a window with half a CPU idle, and says how much was idle', () => {
    const cpu = fakeCpu(2);
    const b = new ConnectionBalancer<number>(defaultBalanceOptions, cpu.read);
    cpu.setIdle(0.8); // one worker at a full core, the load generator elsewhere at 0.2
    b.report(1, 16, at(cpu, 0));
    expect(b.report(2, 0, at(cpu, 10))).toBeUndefined(); // imbalance seen: the window starts
    expect(b.report(1, 16, at(cpu, 60))).toBeUndefined(); // within the window
    expect(b.report(2, 0, at(cpu, 110))).toEqual({ key: 1, count: 8, active: [16, 0], idleCpus: 0.8 });
  });

  it('leaves the pile where it is while no CPU idles, judging window after window, and sheds when one frees up', () => {
    const cpu = fakeCpu(2);
    const b = new ConnectionBalancer<number>(defaultBalanceOptions, cpu.read);
    cpu.setIdle(0.1); // e.g. wrk on the other core: spreading would gain no CPU
    b.report(1, 50, at(cpu, 0));
    for (let t = 10; t <= 2000; t += 50) expect(b.report(t % 100 === 10 ? 2 : 1, t % 100 === 10 ? 0 : 50, at(cpu, t))).toBeUndefined();
    const reads = cpu.state.reads;
    expect(reads).toBeGreaterThan(15); // a new window after each judged one
    expect(reads).toBeLessThan(25); // ... but /proc/stat read once a window, not at every report
    at(cpu, 2010);
    cpu.setIdle(1); // the other core is free from now on
    expect(b.report(1, 50, at(cpu, 2060))).toBeUndefined(); // judged 1910-2060: 0.4 idle on average, too little
    expect(b.report(2, 0, at(cpu, 2170))).toEqual({ key: 1, count: 25, active: [50, 0], idleCpus: 1 });
  });

  it('does not count idle time from before the imbalance', () => {
    const cpu = fakeCpu(2);
    const b = new ConnectionBalancer<number>(defaultBalanceOptions, cpu.read);
    b.report(1, 0, at(cpu, 0));
    b.report(2, 0, at(cpu, 0));
    expect(b.report(1, 0, at(cpu, 5000))).toBeUndefined(); // 5 s of an idle machine, balanced
    cpu.setIdle(0); // the clients arrive and fill every CPU
    expect(b.report(1, 16, at(cpu, 5100))).toBeUndefined();
    expect(b.report(2, 0, at(cpu, 5210))).toBeUndefined(); // 110 ms of 0 idle, not 5.2 s of mostly idle
  });

  it('starts over when the spread evens out on its own', () => {
    const cpu = fakeCpu(2);
    const b = new ConnectionBalancer<number>(defaultBalanceOptions, cpu.read);
    cpu.setIdle(1);
    b.report(1, 16, at(cpu, 0));
    expect(b.report(2, 0, at(cpu, 10))).toBeUndefined();
    expect(b.report(2, 12, at(cpu, 60))).toBeUndefined(); // 16/12: within the margin, the watch ends
    expect(b.report(2, 0, at(cpu, 200))).toBeUndefined(); // a new imbalance: a new window
    expect(b.report(1, 16, at(cpu, 310))).toEqual({ key: 1, count: 8, active: [16, 0], idleCpus: 1 });
  });

  it('balances whatever the load with minIdleCpus 0 (SHIPIT_BALANCE=always), and as before where /proc/stat cannot be read', () => {
    const cpu = fakeCpu(2);
    cpu.setIdle(0);
    const always = new ConnectionBalancer<number>({ ...defaultBalanceOptions, minIdleCpus: 0 }, cpu.read);
    always.report(1, 16, 0);
    expect(always.report(2, 0, 10)).toEqual({ key: 1, count: 8, active: [16, 0] });
    expect(cpu.state.reads).toBe(0);
    const unreadable = new ConnectionBalancer<number>(defaultBalanceOptions, () => undefined);
    unreadable.report(1, 16, 0);
    expect(unreadable.report(2, 0, 10)).toEqual({ key: 1, count: 8, active: [16, 0] });
  });
});

describe('parseProcStat / idleCpusBetween', () => {
  const stat = (first: string, cpus = 2) =>
    [`cpu  ${first}`, ...Array.from({ length: cpus }, (_, i) => `cpu${i} 1 2 3 4 5 6 7 8 0 0`), 'intr 12345 0 0', 'ctxt 999', 'btime 1', 'processes 5'].join('\n');

  it('counts idle and iowait as idle, steal and everything else as busy, and the cpuN lines as CPUs', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice
    expect(parseProcStat(stat('100 1 50 800 20 3 7 19 40 0'))).toEqual({ idle: 820, total: 1000, cpus: 2 });
    expect(parseProcStat(stat('100 1 50 800 20', 4))).toEqual({ idle: 820, total: 971, cpus: 4 }); // old kernels: fewer fields
  });

  it('gives up on what it cannot read', () => {
    expect(parseProcStat('')).toBeUndefined();
    expect(parseProcStat('cpu  1 2 x 4 5\ncpu0 1 2 3 4 5')).toBeUndefined();
    expect(parseProcStat('cpu  1 2 3\ncpu0 1 2 3')).toBeUndefined();
    expect(parseProcStat('cpu  1 2 3 4 5 6 7 8')).toBeUndefined(); // no cpuN line
  });

  it('reads the real /proc/stat of this machine', async () => {
    const { readFileSync } = await import('node:fs');
    const { availableParallelism } = await import('node:os');
    const sample = parseProcStat(readFileSync('/proc/stat', 'latin1'));
    expect(sample?.cpus).toBe(availableParallelism());
    expect(sample!.idle).toBeLessThan(sample!.total);
  });

  it('averages idle CPUs between two samples', () => {
    expect(idleCpusBetween({ idle: 100, total: 400, cpus: 2 }, { idle: 250, total: 600, cpus: 2 })).toBe(1.5);
    expect(idleCpusBetween({ idle: 100, total: 400, cpus: 4 }, { idle: 100, total: 400, cpus: 4 })).toBeUndefined();
  });
});
