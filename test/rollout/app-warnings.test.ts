import { ShipitError } from '../../src/lib/errors.js';
import { pickAppWarnings } from '../../src/rollout/app-warnings.js';
import { deploy } from '../../src/rollout/deploy.js';
import { rollback } from '../../src/rollout/rollback.js';
import type { RolloutEvent } from '../../src/rollout/events.js';
import { makeFleet, releaseSpec, seed, types } from './fleet.js';

const OLD = '20261124T100000Z';
const NEW = '20261125T130000Z';

/** The runtime's JSON line at `warn` (src/runtime/log.ts), as the journal stores it (priority 4). */
const runtimeWarn = (msg: string, fields: Record<string, unknown> = {}) => ({
  message: JSON.stringify({ ts: '2026-11-25T13:00:00.000Z', level: 'warn', msg, pid: 1010, ...fields }),
  priority: 4,
});
const ON_READY = 'server.js: export onReady is not called by the runtime: the hook is named ready, awaited before the worker serves; rename it to ready';
const SIGTERM = 'the app registers its own SIGTERM handler, which does not run when the service stops';

const warnings = (events: RolloutEvent[]) => events.filter((e): e is Extract<RolloutEvent, { type: 'host.app_warnings' }> => e.type === 'host.app_warnings');

describe("a deploy shows the app's start warnings, read on the canary once it passed its gate", () => {
  it('names the warnings of the canary after its host.ready, once, deduplicated and reduced to their msg', async () => {
    const fleet = makeFleet(4);
    seed(fleet, OLD);
    for (const host of fleet.hosts.values()) {
      host.appLogs.set(NEW, {
        start: [
          { message: JSON.stringify({ level: 'info', msg: 'shipit runtime master', pid: 1010 }) },
          runtimeWarn(ON_READY),
          // One per worker: shown once.
          runtimeWarn(SIGTERM, { worker: 1 }),
          runtimeWarn(SIGTERM, { worker: 2 }),
          // An error is worse than a warning: shown too.
          { message: 'Traceback: something failed but the app serves', priority: 3 },
        ],
      });
    }
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('success');
    expect(warnings(fleet.events)).toEqual([
      { type: 'host.app_warnings', host: 'web1', release: NEW, lines: [ON_READY, SIGTERM, 'Traceback: something failed but the app serves'], more: 0 },
    ]);
    const seq = types(fleet.events);
    expect(seq.indexOf('host.app_warnings web1')).toBe(seq.indexOf('host.ready web1') + 1);
    // One read, on the canary only: the other hosts' journals are never read. The host filters: this start's
    // processes, warnings or worse, since the activation began (rounded up, and a second more).
    const ready = fleet.events.find((e): e is Extract<RolloutEvent, { type: 'host.ready' }> => e.type === 'host.ready' && e.host === 'web1')!;
    const secondsAgo = Math.ceil(ready.durationMs / 1000) + 1;
    expect([...fleet.hosts.values()].map((h) => h.journalQueries)).toEqual([[{ since: { secondsAgo }, thisStart: true, maxPriority: 4 }], [], [], []]);
  });

  it('says nothing when the app started without a warning (info lines, systemd lines are not warnings)', async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    fleet.host('web1').appLogs.set(NEW, {
      start: [
        { message: '{"level":"info","msg":"listening"}', priority: 6 },
        // systemd's own words about the unit (PID 1) are not the app's, even at warning priority.
        { message: 'hello.service: Supervising process 4242 which is not our child.', identifier: 'systemd', pid: 1, priority: 4 },
      ],
    });
    expect((await deploy(fleet.ctx(), releaseSpec(NEW))).result).toBe('success');
    expect(warnings(fleet.events)).toEqual([]);
    expect(fleet.host('web1').journalQueries.length).toBe(1);
  });

  it("leaves out the old process's last words as it stopped, and what was logged before the activation", async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    const web1 = fleet.host('web1');
    web1.log(JSON.stringify({ level: 'warn', msg: 'an hour ago' }), { priority: 4 });
    fleet.clock.advance(3_600_000);
    web1.appLogs.set(OLD, { stop: [runtimeWarn('worker killed: graceful timeout')] });
    web1.appLogs.set(NEW, { start: [runtimeWarn(ON_READY)] });
    await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(warnings(fleet.events).map((e) => e.lines)).toEqual([[ON_READY]]);
  });

  it("shows what any process of this start logged (a worker's PID), and nothing of an earlier start's", async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    const web1 = fleet.host('web1');
    // The running release's start warned too, a second ago: inside the window, but not this start's.
    web1.log(JSON.stringify({ level: 'warn', msg: 'the old start' }), { priority: 4 });
    web1.appLogs.set(NEW, { start: [{ message: 'config file is deprecated', priority: 4, pid: 4321, identifier: 'myapp' }] });
    await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(warnings(fleet.events).map((e) => e.lines)).toEqual([['config file is deprecated']]);
  });

  it("redacts the config's secrets, also where the runtime's JSON escaped them, and cuts each line", async () => {
    const fleet = makeFleet(2);
    const secret = 'pa"ss\\w0rd-xyz';
    fleet.config.server.secrets = { DATABASE_URL: secret };
    seed(fleet, OLD);
    const long = `the app listens on port 9000 itself ${'x'.repeat(600)}`;
    fleet.host('web1').appLogs.set(NEW, {
      start: [runtimeWarn(`could not reach the db at ${secret}`), { message: `plain line with ${secret} in it`, priority: 4 }, runtimeWarn(long)],
    });
    await deploy(fleet.ctx(), releaseSpec(NEW));
    const [event] = warnings(fleet.events);
    expect(event!.lines).toEqual(['could not reach the db at [redacted]', 'plain line with [redacted] in it', `${long.slice(0, 400)}...`]);
    expect(JSON.stringify(fleet.events)).not.toContain('w0rd-xyz');
  });

  it('shows at most 5 distinct lines and counts the others', async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    fleet.host('web1').appLogs.set(NEW, { start: Array.from({ length: 8 }, (_, i) => runtimeWarn(`warning ${i + 1}`)) });
    await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(warnings(fleet.events)).toEqual([{ type: 'host.app_warnings', host: 'web1', release: NEW, lines: ['warning 1', 'warning 2', 'warning 3', 'warning 4', 'warning 5'], more: 3 }]);
  });

  it('a journal read that fails is ignored: the deploy succeeds as it would have', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    fleet.host('web1').appLogs.set(NEW, { start: [runtimeWarn(ON_READY)] });
    fleet.host('web1').faults.journalFails = 'journalctl: Failed to open journal: permission denied';
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('success');
    expect(warnings(fleet.events)).toEqual([]);
    expect(fleet.events.filter((e) => e.type === 'host.failed')).toEqual([]);
    for (const host of fleet.hosts.values()) expect(host.current).toBe(NEW);
  });

  it('only the canary: another host warning the same is not read, nor is a host that failed', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    fleet.host('web2').appLogs.set(NEW, { start: [runtimeWarn(ON_READY)] });
    await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(warnings(fleet.events)).toEqual([]);
    expect([...fleet.hosts.values()].map((h) => h.journalQueries.length)).toEqual([1, 0, 0]);

    // The canary fails its gate: its failure already quotes the app; no read for it, nor for the revert.
    const failing = makeFleet(3);
    seed(failing, OLD);
    failing.host('web1').appLogs.set(NEW, { start: [runtimeWarn(ON_READY)] });
    failing.host('web1').faults.neverReady = new Set([NEW]);
    expect((await deploy(failing.ctx(), releaseSpec(NEW))).result).toBe('failed-restored');
    expect(warnings(failing.events)).toEqual([]);
    expect(failing.host('web1').journalQueries.length).toBe(0);
  });

  it('a deploy that fails after the canary passed still shows the warnings; the revert reads nothing', async () => {
    const fleet = makeFleet(4);
    seed(fleet, OLD);
    for (const host of fleet.hosts.values()) host.appLogs.set(NEW, { start: [runtimeWarn(ON_READY)] });
    fleet.host('web3').faults.neverReady = new Set([NEW]);
    expect((await deploy(fleet.ctx(), releaseSpec(NEW))).result).toBe('failed-restored');
    expect(warnings(fleet.events).map((e) => [e.host, e.lines])).toEqual([['web1', [ON_READY]]]);
    expect([...fleet.hosts.values()].map((h) => h.journalQueries.length)).toEqual([1, 0, 0, 0]);
  });

  it('the first host of the first batch without a canary; a rollback reads nothing', async () => {
    const fleet = makeFleet(3, { rollout: { canary: 0, maxParallel: 3, stagger: 0, progressDeadline: 600_000, autoRevert: true } });
    seed(fleet, OLD);
    for (const host of fleet.hosts.values()) host.appLogs.set(NEW, { start: [runtimeWarn(ON_READY)] });
    await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(warnings(fleet.events).map((e) => e.host)).toEqual(['web1']);
    expect([...fleet.hosts.values()].map((h) => h.journalQueries.length)).toEqual([1, 0, 0]);

    // Back to OLD, whose start warns as well: a rollback is not a deploy of new code, and says nothing of it.
    for (const host of fleet.hosts.values()) host.appLogs.set(OLD, { start: [runtimeWarn(ON_READY)] });
    fleet.events.length = 0;
    expect((await rollback(fleet.ctx())).result).toBe('success');
    expect(warnings(fleet.events)).toEqual([]);
    expect([...fleet.hosts.values()].map((h) => h.journalQueries.length)).toEqual([1, 0, 0]);
  });
});

describe("the warnings' read never holds the deploy up", () => {
  it('a read that never answers is cut off after 5 s and ignored', async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    fleet.host('web1').appLogs.set(NEW, { start: [runtimeWarn(ON_READY)] });
    fleet.host('web1').faults.journalHangs = true;
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('success');
    expect(warnings(fleet.events)).toEqual([]);
    const ready = fleet.events.findIndex((e) => e.type === 'host.ready' && e.host === 'web1');
    const finished = fleet.events.findIndex((e) => e.type === 'batch.finished' && e.batch === 1);
    expect(finished).toBe(ready + 1);
    // The batch ended 5 s (fake time) after its host was ready: the bound, not the 2-minute command timeout.
    const batch = fleet.events[finished] as Extract<RolloutEvent, { type: 'batch.finished' }>;
    const host = fleet.events[ready] as Extract<RolloutEvent, { type: 'host.ready' }>;
    expect(batch.durationMs - host.durationMs).toBe(5_000);
  });
});

describe('stopped during the read', () => {
  it.each([1, 3])('a Ctrl-C while the canary\'s journal is read stops the run (%i host(s)): the hosts go back, the release is interrupted, not good', async (count) => {
    const fleet = makeFleet(count);
    seed(fleet, OLD);
    fleet.host('web1').appLogs.set(NEW, { start: [runtimeWarn(ON_READY)] });
    fleet.host('web1').faults.journalHangs = true;
    const abort = new AbortController();
    const ctx = fleet.ctx({ signal: abort.signal });
    const emit = ctx.emit;
    ctx.emit = (event) => {
      emit(event);
      // The read starts right after host.ready; the abort lands while it hangs.
      if (event.type === 'host.ready' && event.host === 'web1' && event.release === NEW) {
        void fleet.clock.sleep(100).then(() => abort.abort(new ShipitError('ABORTED', 'interrupted by SIGINT')));
      }
    };
    const outcome = await deploy(ctx, releaseSpec(NEW));
    expect(outcome.result).toBe('failed-restored');
    expect(outcome.interrupted).toBe(true);
    expect(types(fleet.events)).not.toContain('batch.finished 1');
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe(OLD);
      expect(host.releases.get(NEW)?.meta.state).toBe('interrupted');
    }
  });
});

describe('pickAppWarnings', () => {
  const entry = (message: string, priority: number, pid: number | null) => ({ cursor: 'c', timeUs: 0, priority, identifier: 'x', pid, message });
  it("never shows systemd's lines about the unit (PID 1) or info lines, whatever the host sent", () => {
    const picked = pickAppWarnings(
      [entry("hello.service: State 'stop-sigterm' timed out. Killing.", 4, 1), entry('{"level":"info","msg":"hi"}', 6, 9), entry(JSON.stringify({ level: 'warn', msg: 'stack\n  at x\n  at y' }), 4, null)],
      (t) => t,
    );
    expect(picked).toEqual({ lines: ['stack at x at y'], more: 0 });
  });

  it('turns control characters (a lone CR, escape sequences) into spaces: the line goes to a CI log or a listr2 row', () => {
    const picked = pickAppWarnings([entry('progress\rdone \u001b[2K\u001b[1Aup\u0007 \u2028x', 4, 9)], (t) => t);
    expect(picked).toEqual({ lines: ['progress done [2K [1Aup x'], more: 0 });
  });
});
