import { RuntimeExit } from '../../../src/runtime/exit-codes.js';
import { Sim } from './sim.js';

describe('Arbiter: start-up and readiness', () => {
  it('sends READY=1 once, only after every worker serves, with the worker count in STATUS', () => {
    const sim = new Sim({ workers: 3 }, (slot) => ({ bootMs: 100 + slot * 200 })); // serving at 100, 300, 500
    sim.runUntil(2000);
    const ready = sim.notified('READY');
    expect(ready).toHaveLength(1);
    expect(ready[0]!.t).toBe(500);
    expect(ready[0]!.fields).toEqual({ READY: '1', STATUS: '3 workers serving' });
    const statuses = sim.notifications.map((n) => n.fields.STATUS);
    expect(statuses).toEqual(['starting: 0 of 3 workers serving', 'starting: 1 of 3 workers serving', 'starting: 2 of 3 workers serving', '3 workers serving']);
    expect(sim.spawns).toHaveLength(3);
  });

  it('does not send READY=1 while a worker is still booting (its ready() hook has not passed)', () => {
    const sim = new Sim({ workers: 2, bootTimeoutMs: 0 }, (slot) => ({ bootMs: slot === 0 ? 100 : 60_000 }));
    sim.runUntil(30_000);
    expect(sim.notified('READY')).toHaveLength(0);
    expect(sim.notifications.at(-1)!.fields.STATUS).toBe('starting: 1 of 2 workers serving');
    sim.runUntil(61_000);
    expect(sim.notified('READY')).toHaveLength(1);
  });
});

describe('Arbiter: a worker that cannot boot at start-up halts the master with a named code', () => {
  it.each([
    { name: 'app import throws', behaviour: { bootFails: 'load' as const }, code: RuntimeExit.appLoadFailed },
    { name: 'ready() throws', behaviour: { bootFails: 'ready' as const }, code: RuntimeExit.workerBootFailed },
    { name: 'listen fails', behaviour: { bootFails: 'listen' as const }, code: RuntimeExit.workerBootFailed },
    { name: 'dies without a word', behaviour: { exitsAtBoot: 1 }, code: RuntimeExit.workerBootFailed },
    { name: 'exits 4 (its message lost)', behaviour: { exitsAtBoot: 4 }, code: RuntimeExit.appLoadFailed },
  ])('$name → exit $code, no respawn loop', ({ behaviour, code }) => {
    const sim = new Sim({ workers: 2 }, (slot) => (slot === 1 ? behaviour : { bootMs: 50 }));
    sim.runUntil(60_000);
    expect(sim.exitCode).toBe(code);
    expect(sim.spawns).toHaveLength(2);
    expect(sim.notified('READY')).toHaveLength(0);
    expect(sim.notified('STOPPING')).toHaveLength(1);
    expect(sim.notifications.at(-1)!.fields.STATUS).toMatch(/^worker failed to boot/);
    expect(sim.alive()).toHaveLength(0); // the healthy one was drained before exiting
  });

  it('kills a worker that does not serve within the boot timeout, then exits 3', () => {
    const sim = new Sim({ workers: 1, bootTimeoutMs: 5000 }, () => ({ bootMs: 60_000 }));
    sim.runUntil(60_000);
    expect(sim.kills).toHaveLength(1);
    expect(sim.kills[0]!.t).toBeGreaterThan(5000);
    expect(sim.kills[0]!.t).toBeLessThan(5300);
    expect(sim.exitCode).toBe(RuntimeExit.workerBootFailed);
  });
});

describe('Arbiter: supervision in steady state', () => {
  it('replaces a dead worker at once, then with growing backoff while it keeps dying, and resets after a good run', () => {
    let deaths = 0;
    const sim = new Sim({ workers: 1 }, (_slot, _gen) => {
      deaths += 1;
      // spawn 1 is the initial worker; spawns 2..6 die 1 s after serving; spawn 7 serves 40 s, then dies; 8 stays.
      if (deaths === 1) return { bootMs: 100, crashAfterMs: 1000 };
      if (deaths <= 6) return { bootMs: 100, crashAfterMs: 1000 };
      if (deaths === 7) return { bootMs: 100, crashAfterMs: 40_000 };
      return { bootMs: 100 };
    });
    sim.runUntil(200_000);
    const gaps = sim.spawns.slice(1).map((s, i) => Math.round(s.t - (sim.spawns[i]!.t + 100 + 1000)));
    // death → respawn delay: 0, 100, 200, 400, 800, 1600; then 40 s of serving resets: the next death costs 0.
    expect(gaps.slice(0, 6)).toEqual([0, 100, 200, 400, 800, 1600]);
    const lastDeathAt = sim.spawns[6]!.t + 100 + 40_000;
    expect(sim.spawns[7]!.t).toBe(lastDeathAt);
    expect(sim.exitCode).toBeUndefined();
  });

  it('caps the backoff at 15 s', () => {
    const sim = new Sim({ workers: 1 }, () => ({ bootMs: 10, crashAfterMs: 10 }));
    sim.runUntil(400_000);
    const delays = sim.spawns.slice(1).map((s, i) => Math.round(s.t - (sim.spawns[i]!.t + 20)));
    expect(Math.max(...delays)).toBe(15_000);
  });

  it('SIGKILLs a worker whose event loop is blocked longer than the timeout, and replaces it', () => {
    let spawned = 0;
    const sim = new Sim({ workers: 2, timeoutMs: 1000 }, () => (++spawned === 1 ? { bootMs: 100, hangAfterMs: 5000 } : { bootMs: 100 }));
    sim.runUntil(20_000);
    expect(sim.kills).toHaveLength(1);
    const hungAt = 100 + 5000;
    expect(sim.kills[0]!.t).toBeGreaterThan(hungAt + 1000 - 300); // last beat ≤ one tick before the hang
    expect(sim.kills[0]!.t).toBeLessThanOrEqual(hungAt + 1000 + 1);
    expect(sim.logs.some((l) => l.msg === 'killing worker (SIGKILL)' && String(l.fields.reason).startsWith('no heartbeat'))).toBe(true);
    expect(sim.spawns).toHaveLength(3);
    expect(sim.alive()).toHaveLength(2);
    expect(sim.arbiter.snapshot().serving).toBe(2);
  });

  it('judges a booting worker by the boot deadline, not by heartbeats (it cannot beat before Node loaded our code)', () => {
    const sim = new Sim({ workers: 1, timeoutMs: 1000, bootTimeoutMs: 10_000 }, () => ({ bootMs: 4000 }));
    sim.runUntil(1); // forked; now it is silent while it boots
    for (const w of sim.alive()) w.hung = true;
    sim.runUntil(3900);
    for (const w of sim.alive()) w.hung = false;
    sim.runUntil(6000);
    expect(sim.kills).toHaveLength(0);
    expect(sim.notified('READY')).toHaveLength(1);
  });

  it('does not kill workers for heartbeats it could not read while the master itself was stalled', () => {
    const sim = new Sim({ workers: 2, timeoutMs: 1000 }, () => ({ bootMs: 100 }));
    sim.runUntil(2000);
    sim.clock.t += 5000; // the master's loop was blocked for 5 s; workers' heartbeats sit unread in the pipes
    sim.step({ heartbeats: false });
    expect(sim.kills).toHaveLength(0);
    expect(sim.logs.some((l) => l.msg.startsWith('master event loop stalled'))).toBe(true);
    sim.runUntil(10_000);
    expect(sim.kills).toHaveLength(0);
  });

  it('keeps serving with the other workers when a replacement cannot boot, then halts once nothing serves', () => {
    let n = 0;
    const sim = new Sim({ workers: 2 }, (slot) => {
      n += 1;
      if (n <= 2) return slot === 0 ? { bootMs: 100, crashAfterMs: 1000 } : { bootMs: 100, crashAfterMs: 20_000 };
      return { bootMs: 100, bootFails: 'ready' };
    });
    sim.runUntil(19_000);
    expect(sim.exitCode).toBeUndefined();
    expect(sim.spawns.length).toBeGreaterThan(4); // slot 1 retried with backoff
    expect(sim.notifications.at(-1)!.fields.STATUS).toBe('1 of 2 workers serving');
    sim.runUntil(60_000);
    expect(sim.exitCode).toBe(RuntimeExit.workerBootFailed);
  });

  it('exits 5 when the last listening worker dies where that closes the socket (round-robin under socket activation)', () => {
    const sim = new Sim({ workers: 1, listenerDiesWithWorkers: true }, () => ({ bootMs: 100, crashAfterMs: 1000 }));
    sim.runUntil(10_000);
    expect(sim.exitCode).toBe(RuntimeExit.listenerLost);
    expect(sim.spawns).toHaveLength(1);
  });

  it('replaces every worker when all die at once where the socket outlives them (shared scheduling)', () => {
    let n = 0;
    const sim = new Sim({ workers: 2 }, () => {
      n += 1;
      return n <= 2 ? { bootMs: 100, crashAfterMs: 1000 } : { bootMs: 100 };
    });
    sim.runUntil(10_000);
    expect(sim.exitCode).toBeUndefined();
    expect(sim.spawns).toHaveLength(4);
    expect(sim.notifications.at(-1)!.fields.STATUS).toBe('2 workers serving');
  });

  it('pings the watchdog at the configured interval while its loop runs', () => {
    const sim = new Sim({ workers: 1, watchdogIntervalMs: 500 }, () => ({ bootMs: 100 }));
    sim.runUntil(3000);
    const pings = sim.notified('WATCHDOG').map((n) => n.t);
    expect(pings).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000]);
    expect(sim.notified('WATCHDOG').every((n) => Object.keys(n.fields).length === 1)).toBe(true);
  });
});

describe('Arbiter: rolling reload (SIGHUP)', () => {
  it('replaces workers one at a time, never serving fewer than before, with RELOADING=1 … READY=1', () => {
    const sim = new Sim({ workers: 3 }, (_slot, gen) => ({ bootMs: gen === 1 ? 100 : 400, drainMs: 2000 }));
    sim.runUntil(1000);
    const before = sim.servingHistory.length;
    sim.signal('SIGHUP');
    sim.runUntil(20_000);

    const reloading = sim.notified('RELOADING');
    expect(reloading).toHaveLength(1);
    expect(reloading[0]!.fields.MONOTONIC_USEC).toMatch(/^[0-9]+$/);
    expect(reloading[0]!.fields.STATUS).toMatch(/^reloading: 0 of 3 replaced/);
    const ready = sim.notified('READY');
    expect(ready).toHaveLength(2); // start-up, end of reload
    expect(ready[1]!.t).toBeGreaterThan(reloading[0]!.t);
    expect(ready[1]!.fields.STATUS).toBe('3 workers serving');

    const during = sim.servingHistory.slice(before);
    expect(Math.min(...during.map((h) => h.serving))).toBeGreaterThanOrEqual(3);
    // one new worker at a time: spawns of generation 2 are 400 ms apart (each waits for the previous to serve)
    const gen2 = sim.spawns.filter((s) => s.generation === 2).map((s) => s.t - reloading[0]!.t);
    expect(gen2).toEqual([0, 400, 800]);
    expect(sim.alive().map((w) => w.generation)).toEqual([2, 2, 2]);
  });

  it('keeps the old workers when the new code cannot boot, and says so in STATUS', () => {
    const sim = new Sim({ workers: 2 }, (_slot, gen) => (gen === 1 ? { bootMs: 100 } : { bootMs: 300, bootFails: 'load' }));
    sim.runUntil(1000);
    sim.signal('SIGHUP');
    sim.runUntil(20_000);
    expect(sim.exitCode).toBeUndefined();
    expect(sim.alive().map((w) => w.generation)).toEqual([1, 1]);
    expect(sim.spawns.filter((s) => s.generation === 2)).toHaveLength(1); // aborted at the first failure
    expect(Math.min(...sim.servingHistory.filter((h) => h.t >= 1000).map((h) => h.serving))).toBe(2);
    const last = sim.notified('READY').at(-1)!;
    expect(last.fields.STATUS).toBe('2 workers serving; reload failed: boom (load)');
    expect(sim.logs.some((l) => l.level === 'error' && l.msg.startsWith('reload failed'))).toBe(true);
  });

  it('keeps already replaced and old workers when a later replacement fails', () => {
    const sim = new Sim({ workers: 2 }, (slot, gen) => (gen === 2 && slot === 1 ? { bootMs: 200, bootFails: 'ready' } : { bootMs: 100 }));
    sim.runUntil(1000);
    sim.signal('SIGHUP');
    sim.runUntil(20_000);
    expect(sim.alive().map((w) => [w.slot, w.generation]).sort()).toEqual([[0, 2], [1, 1]]);
    expect(Math.min(...sim.servingHistory.filter((h) => h.t >= 1000).map((h) => h.serving))).toBe(2);
  });

  it('queues a SIGHUP that arrives during start-up and reloads once ready', () => {
    const sim = new Sim({ workers: 1 }, () => ({ bootMs: 500 }));
    sim.runUntil(100);
    sim.signal('SIGHUP');
    sim.runUntil(5000);
    expect(sim.spawns.map((s) => s.generation)).toEqual([1, 2]);
    expect(sim.notified('READY')).toHaveLength(2);
  });
});

describe('Arbiter: answering SIGHUPs for `systemctl reload` to wait on (reload-report.ts)', () => {
  const reports = (sim: Sim) => sim.reloadReports.map(({ t, requested, answered, result, message, generation }) => ({ t, requested, answered, result, message, generation }));

  it('answers a SIGHUP when its reload completed, not when it began', () => {
    const sim = new Sim({ workers: 2 }, (_slot, gen) => ({ bootMs: gen === 1 ? 100 : 400 }));
    sim.runUntil(1000);
    sim.signal('SIGHUP');
    sim.runUntil(20_000);
    expect(reports(sim)).toEqual([
      { t: 1000, requested: 1, answered: 0, result: undefined, message: undefined, generation: 1 },
      { t: 1800, requested: 1, answered: 1, result: 'done', message: undefined, generation: 2 },
    ]);
    expect(sim.logs.find((l) => l.msg === 'reload complete')!.t).toBe(1800);
  });

  it('answers with the reason when the new code cannot boot, also a SIGHUP queued behind it', () => {
    const sim = new Sim({ workers: 2 }, (_slot, gen) => (gen === 1 ? { bootMs: 100 } : { bootMs: 300, bootFails: 'load' }));
    sim.runUntil(1000);
    sim.signal('SIGHUP');
    sim.runUntil(1100);
    sim.signal('SIGHUP'); // queued: the failure drops it, and must answer it too
    sim.runUntil(20_000);
    const last = sim.reloadReports.at(-1)!;
    expect(last).toMatchObject({ requested: 2, answered: 2, result: 'failed', message: 'boom (load); the workers that served keep serving' });
    expect(sim.spawns.filter((s) => s.generation > 1)).toHaveLength(1);
  });

  it('answers SIGHUPs queued during a reload with the next reload, which covers them all', () => {
    const sim = new Sim({ workers: 1 }, () => ({ bootMs: 500 }));
    sim.runUntil(1000);
    sim.signal('SIGHUP'); // reload 1 (generation 2) begins at 1000
    sim.runUntil(1100);
    sim.signal('SIGHUP');
    sim.signal('SIGHUP'); // both queued: one more reload (generation 3)
    sim.runUntil(20_000);
    const answers = sim.reloadReports.filter((r, i) => r.answered > (sim.reloadReports[i - 1]?.answered ?? 0)).map((r) => [r.answered, r.generation]);
    expect(answers).toEqual([[1, 2], [3, 3]]); // the first reload answers only the SIGHUP it began with
    expect(sim.spawns.map((s) => s.generation)).toEqual([1, 2, 3]);
  });

  it('answers a SIGHUP received during start-up once the reload after it completed', () => {
    const sim = new Sim({ workers: 1 }, () => ({ bootMs: 500 }));
    sim.runUntil(100);
    sim.signal('SIGHUP');
    sim.runUntil(5000);
    const ready = sim.notified('READY').map((n) => n.t);
    expect(reports(sim).map((r) => [r.requested, r.answered, r.result])).toEqual([
      [1, 0, undefined], // received while starting: queued
      [1, 0, undefined], // the reload begins, once every worker serves
      [1, 1, 'done'],
    ]);
    const [queued, began, done] = reports(sim).map((r) => r.t);
    expect(queued).toBe(100);
    expect(began).toBeGreaterThanOrEqual(ready[0]!);
    expect(done).toBe(ready[1]);
  });

  it('answers with a failure when the runtime stops instead, or is stopping already', () => {
    const sim = new Sim({ workers: 1 }, (_slot, gen) => ({ bootMs: gen === 1 ? 100 : 5000 }));
    sim.runUntil(1000);
    sim.signal('SIGHUP');
    sim.runUntil(1200);
    sim.signal('SIGTERM');
    expect(sim.reloadReports.at(-1)).toMatchObject({ requested: 1, answered: 1, result: 'failed', message: 'the runtime is stopping' });
    sim.signal('SIGHUP');
    expect(sim.reloadReports.at(-1)).toMatchObject({ requested: 2, answered: 2, result: 'failed', message: 'the runtime is stopping' });
  });
});

describe('Arbiter: graceful stop (SIGTERM)', () => {
  it('sends STOPPING=1, drains every worker, and exits 0 once they are gone', () => {
    const sim = new Sim({ workers: 2 }, () => ({ bootMs: 100, drainMs: 1500 }));
    sim.runUntil(1000);
    sim.signal('SIGTERM');
    sim.runUntil(10_000);
    expect(sim.notified('STOPPING')).toEqual([{ t: 1000, fields: { STOPPING: '1', STATUS: 'stopping: draining 2 workers' } }]);
    expect(sim.kills).toHaveLength(0);
    expect(sim.exitCode).toBe(RuntimeExit.ok);
    expect(sim.clock.t).toBe(2500);
  });

  it('SIGKILLs what is left at the graceful timeout, still exiting 0', () => {
    const sim = new Sim({ workers: 2, gracefulTimeoutMs: 3000 }, (slot) => ({ bootMs: 100, drainHangs: slot === 1 }));
    sim.runUntil(1000);
    sim.signal('SIGTERM');
    sim.runUntil(10_000);
    expect(sim.kills).toEqual([{ t: 4000, key: 2 }]);
    expect(sim.exitCode).toBe(RuntimeExit.ok);
  });

  it('drains a booting worker with a signal (an IPC message could arrive before it listens)', () => {
    const sim = new Sim({ workers: 2 }, (slot) => (slot === 0 ? { bootMs: 100 } : { bootMs: 800 }));
    sim.runUntil(300);
    sim.signal('SIGTERM');
    expect(sim.drains.map((d) => d.booting)).toEqual([false, true]);
    sim.runUntil(10_000);
    expect(sim.drains).toHaveLength(2); // it exited on the signal: nothing to ask again
    expect(sim.exitCode).toBe(0);
  });

  it('re-sends drain to a worker that reports serving while draining', () => {
    const sim = new Sim({ workers: 1 }, () => ({ bootMs: 500, drainLost: true }));
    sim.runUntil(100);
    sim.signal('SIGTERM'); // booting: drained by signal, which the sim "loses"
    sim.runUntil(10_000);
    expect(sim.drains.map((d) => d.booting)).toEqual([true, false]);
    expect(sim.exitCode).toBe(0);
    expect(sim.kills).toHaveLength(0);
  });

  it('does not respawn workers that die while stopping, and ignores SIGHUP then', () => {
    const sim = new Sim({ workers: 2 }, () => ({ bootMs: 100, drainMs: 500 }));
    sim.runUntil(1000);
    sim.signal('SIGTERM');
    sim.signal('SIGHUP');
    sim.runUntil(10_000);
    expect(sim.spawns).toHaveLength(2);
    expect(sim.exitCode).toBe(0);
  });
});
