import { deploy } from '../../src/rollout/deploy.js';
import { ShipitError } from '../../src/lib/errors.js';
import type { RolloutEvent } from '../../src/rollout/events.js';
import { lockInfo, makeFleet, releaseSpec, seed, types } from './fleet.js';

const OLD = '20261124T100000Z';
const NEW = '20261125T130000Z';

/** A context whose run is aborted as the CLI aborts it on Ctrl-C (session.ts trapSignals), at the first event `when` picks. */
function ctrlCWhen(fleet: ReturnType<typeof makeFleet>, when: (event: RolloutEvent) => boolean) {
  const abort = new AbortController();
  const ctx = fleet.ctx({ signal: abort.signal });
  const emit = ctx.emit;
  ctx.emit = (event) => {
    emit(event);
    if (when(event) && !abort.signal.aborted) abort.abort(new ShipitError('ABORTED', 'interrupted by SIGINT'));
  };
  return ctx;
}

describe('deploy on an in-memory fleet', () => {
  it('a failed first deploy stops the canary again without saying it restarted or waits for readiness', async () => {
    const fleet = makeFleet(2);
    fleet.host('web1').faults.crashes = new Set([NEW]);
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-restored');
    const web1 = fleet.events.filter((e) => 'host' in e && e.host === 'web1' && e.type !== 'host.locked' && e.type !== 'host.prepared').map((e) => e.type);
    // The revert to nothing is a stop: no host.restarted ("restarted in …, waiting for readiness") after it.
    expect(web1).toEqual(['host.activating', 'host.restarted', 'host.failed', 'host.activating', 'host.reverted']);
    expect(fleet.host('web1').current).toBeNull();
  });

  it('rolls canary first, then batches, gating each host, and records the release good', async () => {
    const fleet = makeFleet(4);
    seed(fleet, OLD);
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));

    expect(outcome.result).toBe('success');
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe(NEW);
      expect(host.releases.get(NEW)!.meta.state).toBe('good');
      expect(host.lockInfo).toBeNull();
      expect(host.history.at(-1)).toMatchObject({ release: NEW, result: 'success', previous: OLD, action: 'deploy' });
      // The last step marks the release and releases the lock (one command on a real host); nothing after it.
      expect(host.calls.slice(-2)).toEqual([`record ${NEW} good`, 'unlock']);
      // Offered with the lock, so that a host can stage it in the same command.
      expect(host.offered).toEqual([NEW]);
    }
    const batches = fleet.events.filter((e) => e.type === 'batch.started').map((e) => (e.type === 'batch.started' ? e.hosts : []));
    expect(batches).toEqual([['web1'], ['web2', 'web3'], ['web4']]);
    // web2 is not touched before web1 is ready.
    const seq = types(fleet.events);
    expect(seq.indexOf('host.ready web1')).toBeLessThan(seq.indexOf('host.activating web2'));
    expect(seq.filter((t) => t.startsWith('rollback'))).toEqual([]);
    // min healthy time: 2 successes 1 s apart, then 5 s healthy: at least 5 s per batch of fake time.
    const ready = fleet.events.find((e) => e.type === 'host.ready' && e.host === 'web1');
    expect(ready && 'durationMs' in ready ? ready.durationMs : 0).toBeGreaterThanOrEqual(5000);
  });

  it('gate fails on host 2 of 4: touched hosts go back, untouched are never touched, release marked bad', async () => {
    const fleet = makeFleet(4);
    seed(fleet, OLD);
    fleet.host('web2').faults.neverReady = new Set([NEW]);
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));

    expect(outcome.result).toBe('failed-restored');
    expect(outcome.failure).toMatch(/not ready within 1m/);
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe(OLD);
      expect(host.serving).toBe(OLD);
      expect(host.releases.get(NEW)!.meta.state).toBe('bad');
      expect(host.lockInfo).toBeNull();
    }
    expect(fleet.host('web4').calls.filter((c) => c.startsWith('activate'))).toEqual([]);
    expect(fleet.host('web2').calls.filter((c) => c.startsWith('activate'))).toEqual([`activate ${NEW}`, `activate ${OLD}`]);
    // Each switch names where it goes from: the revert from the failed release back to the old one.
    const web2 = fleet.events.filter((e) => e.type === 'host.activating' && e.host === 'web2');
    expect(web2.map((e) => (e.type === 'host.activating' ? `${e.previous} → ${e.release}` : ''))).toEqual([`${OLD} → ${NEW}`, `${NEW} → ${OLD}`]);
    const rollbackStarted = fleet.events.find((e) => e.type === 'rollback.started');
    expect(rollbackStarted && rollbackStarted.type === 'rollback.started' ? rollbackStarted.hosts.sort() : []).toEqual(['web1', 'web2', 'web3']);
    expect(types(fleet.events).filter((t) => t.startsWith('host.reverted')).sort()).toEqual(['host.reverted web1', 'host.reverted web2', 'host.reverted web3']);
  });

  it('a release that crashes on start fails the gate from the unit state, long before the deadline', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    for (const host of fleet.hosts.values()) host.faults.crashes = new Set([NEW]);
    const started = fleet.clock.now();
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-restored');
    expect(outcome.failure).toMatch(/restarted by systemd/);
    // Caught on the canary within a couple of probe rounds, not after healthyDeadline (60 s).
    expect(fleet.clock.now() - started).toBeLessThan(30_000);
    expect(fleet.host('web2').calls.some((c) => c.startsWith('activate'))).toBe(false);
    expect(fleet.host('web1').current).toBe(OLD);
  });

  it('a restart that hangs past the deadline, also on the way back, leaves the fleet inconsistent and says where', async () => {
    const fleet = makeFleet(2, { health: { ...makeFleet(1).config.health, healthyDeadline: 20_000 } });
    seed(fleet, OLD);
    fleet.host('web1').faults.restartHangs = new Set([NEW, OLD]);
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-inconsistent');
    expect(outcome.unrestored).toEqual(['web1']);
    expect(outcome.failure).toMatch(/did not return within 20000 ms/);
    expect(fleet.host('web2').current).toBe(OLD);
    expect(fleet.host('web1').lockInfo).toBeNull();
  });

  it('a restart that hangs once is reverted cleanly', async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    fleet.host('web1').faults.restartHangs = new Set([NEW]);
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-restored');
    expect(fleet.host('web1').current).toBe(OLD);
  });

  it('a deploy built in the same second as the one before it (it waited for the lock) goes out under the next id', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    expect((await deploy(fleet.ctx(), releaseSpec(NEW))).result).toBe('success');
    // What the lock staged under the taken id on a host that lacks it (web3 missed the first deploy) is ours.
    fleet.host('web3').releases.delete(NEW);
    fleet.host('web3').releases.set(NEW, { meta: { ...releaseSpec(NEW).meta, state: 'staged' }, files: [] });
    fleet.host('web3').current = OLD;
    fleet.events.length = 0;
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW, { 'app/main.py': 'second' }));
    expect(outcome.result).toBe('success');
    expect(outcome.release).toBe(`${NEW}-02`);
    expect(fleet.events).toContainEqual({ type: 'release.renamed', from: NEW, to: `${NEW}-02`, takenOn: ['web1', 'web2'] });
    for (const host of fleet.hosts.values()) expect(host.current).toBe(`${NEW}-02`);
    expect(fleet.host('web1').releases.get(NEW)?.meta.state).toBe('good');
    expect(fleet.host('web3').releases.has(NEW)).toBe(false);
    expect(fleet.host('web3').calls).toContain(`discard ${NEW}`);
    expect(fleet.host('web1').calls).not.toContain(`discard ${NEW}`);
  });

  it('a lock held on one host fails fast naming the holder, touches nothing and releases the locks it took', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    fleet.host('web3').lockInfo = { ...lockInfo('other', 'bob@ci'), message: 'db migration' };
    const error = await deploy(fleet.ctx(), releaseSpec(NEW)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShipitError);
    expect((error as ShipitError).code).toBe('LOCK_HELD');
    expect((error as ShipitError).message).toMatch(/web3: deploy lock held by bob@ci .*db migration/);
    expect(fleet.host('web1').lockInfo).toBeNull();
    expect(fleet.host('web3').lockInfo?.token).toBe('other');
    for (const host of fleet.hosts.values()) expect(host.calls.filter((c) => c.startsWith('prepare'))).toEqual([]);
  });

  it('a lock that fails after it was taken (cut off, Ctrl-C) is released with the others', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    const web2 = fleet.host('web2');
    const take = web2.lock.bind(web2);
    web2.lock = async (info, release) => {
      await take(info, release);
      throw new ShipitError('CONNECT_FAILED', 'web2: connection lost');
    };
    const error = await deploy(fleet.ctx(), releaseSpec(NEW)).catch((e: unknown) => e);
    expect((error as ShipitError).message).toBe('web2: connection lost');
    for (const host of fleet.hosts.values()) {
      expect(host.lockInfo).toBeNull();
      expect(host.calls.filter((c) => c.startsWith('prepare'))).toEqual([]);
    }
  });

  it('--lock-wait waits for a lock that frees', async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    fleet.host('web2').lockInfo = lockInfo('other', 'bob@ci');
    void fleet.clock.sleep(5_000).then(() => (fleet.host('web2').lockInfo = null));
    const outcome = await deploy(fleet.ctx({ lockWaitMs: 60_000 }), releaseSpec(NEW));
    expect(outcome.result).toBe('success');
  });

  it('an abort mid-batch (Ctrl-C) restores every touched host, releases the lock, and marks the release interrupted, not bad', async () => {
    const fleet = makeFleet(4);
    seed(fleet, OLD);
    const ctx = ctrlCWhen(fleet, (event) => event.type === 'host.activating' && event.host === 'web2' && event.release === NEW);
    const outcome = await deploy(ctx, releaseSpec(NEW));
    expect(outcome.result).toBe('failed-restored');
    expect(outcome.failure).toBe('interrupted by SIGINT');
    expect(outcome.interrupted).toBe(true);
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe(OLD);
      expect(host.lockInfo).toBeNull();
      // The operator stopped it: not known to be bad, so `rollback --to` may still pick it.
      expect(host.releases.get(NEW)?.meta.state).toBe('interrupted');
    }
    expect(fleet.host('web4').calls.some((c) => c.startsWith('activate'))).toBe(false);
  });

  it('an abort while staging (Ctrl-C) ends as interrupted (130): nothing switched, nothing staged left, the lock released', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    const ctx = ctrlCWhen(fleet, (event) => event.type === 'phase.started' && event.phase === 'prepare');
    const error = await deploy(ctx, releaseSpec(NEW)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ShipitError);
    expect((error as ShipitError).exitCode).toBe(130);
    expect((error as ShipitError).message).toBe('interrupted by SIGINT before any host was switched: nothing changed on the hosts (what was staged was removed, the lock released)');
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe(OLD);
      expect(host.releases.has(NEW)).toBe(false);
      expect(host.lockInfo).toBeNull();
    }
  });

  it('prepare failing on one host switches nothing anywhere and removes the partial release', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    fleet.host('web2').faults.prepareFails = 'only 10 MB free under /srv/hello';
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-restored');
    expect(outcome.failure).toMatch(/web2: .*only 10 MB free/);
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe(OLD);
      expect(host.releases.has(NEW)).toBe(false);
      expect(host.calls.some((c) => c.startsWith('activate'))).toBe(false);
    }
  });

  it('every host keeps the fleet\'s newest bad release, not an older one that only a host which missed a mark still has', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    const bad = (id: string, state: 'bad' | 'staged') => ({ meta: { ...releaseSpec(id).meta, state }, files: releaseSpec(id).files });
    // 20261125T110000Z failed everywhere; 20261125T120000Z failed later while web3 was unreachable at the finish.
    for (const host of fleet.hosts.values()) host.releases.set('20261125T110000Z', bad('20261125T110000Z', 'bad'));
    fleet.host('web1').releases.set('20261125T120000Z', bad('20261125T120000Z', 'bad'));
    fleet.host('web2').releases.set('20261125T120000Z', bad('20261125T120000Z', 'bad'));
    fleet.host('web3').releases.set('20261125T120000Z', bad('20261125T120000Z', 'staged'));
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('success');
    for (const host of fleet.hosts.values()) {
      expect([host.name, host.releases.has('20261125T110000Z'), host.releases.has('20261125T120000Z')]).toEqual([host.name, false, true]);
    }
  });

  it('a prepare failure carries the hosts\' hint when they all gave the same one, else none', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    for (const host of fleet.hosts.values()) Object.assign(host.faults, { prepareFails: 'uvicorn.workers defines no NopeWorker', prepareHint: 'check the spelling' });
    expect((await deploy(fleet.ctx(), releaseSpec(NEW))).hint).toBe('check the spelling');
    fleet.host('web3').faults.prepareHint = 'something else';
    expect((await deploy(fleet.ctx(), releaseSpec('20261125T130001Z'))).hint).toBeUndefined();
    delete fleet.host('web3').faults.prepareHint;
    expect((await deploy(fleet.ctx(), releaseSpec('20261125T130002Z'))).hint).toBeUndefined();
  });

  it('no host becoming healthy within progressDeadline fails the rollout', async () => {
    const fleet = makeFleet(2, { rollout: { canary: 1, maxParallel: 1, stagger: 0, progressDeadline: 30_000, autoRevert: true } });
    seed(fleet, OLD);
    fleet.host('web1').faults.bootTakes = 45_000;
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-restored');
    expect(outcome.failure).toMatch(/progress deadline/);
    // The host's line names the deadline too, not the step it cut off.
    const failed = fleet.events.find((e) => e.type === 'host.failed');
    expect(failed && failed.type === 'host.failed' ? failed.error : '').toMatch(/no progress within the progress deadline \(30 s\)/);
  });

  it('a first deploy that fails leaves hosts with nothing running, as before', async () => {
    const fleet = makeFleet(2);
    for (const host of fleet.hosts.values()) host.faults.neverReady = new Set([NEW]);
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-restored');
    expect(fleet.host('web1').current).toBeNull();
    expect(fleet.host('web1').calls).toContain('activate null');
  });

  it('a host lost mid-rollout cannot be restored: inconsistent, naming it', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    fleet.host('web2').faults.dropOnActivate = true;
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-inconsistent');
    expect(outcome.unrestored).toEqual(['web2']);
    expect(fleet.host('web1').current).toBe(OLD);
  });

  it('a host lost in its gate after it was switched, and so never put back, is reported on the new release, not the old', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    const web2 = fleet.host('web2');
    web2.faults.dropAfterSwitchTo = NEW;
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-inconsistent');
    expect(outcome.unrestored).toEqual(['web2']);
    expect(web2.current).toBe(NEW);
    // What the run reports is where the hosts are: web2 answered its switch, then could not be reverted.
    expect(outcome.hosts).toEqual({ web1: OLD, web2: NEW, web3: OLD });
    expect(outcome.uncertain).toEqual([]);
  });

  it('a host lost during its switch (no answer) is reported as maybe on the new release, not as on the old one', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    fleet.host('web2').faults.dropOnActivate = true;
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-inconsistent');
    expect(outcome.hosts.web2).toBe(NEW);
    expect(outcome.uncertain).toEqual(['web2']);
    expect(outcome.hosts.web1).toBe(OLD);
  });

  it('a revert whose activation fails (its release was deleted by hand) does not report the host as back on it', async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    const web1 = fleet.host('web1');
    web1.faults.crashes = new Set([NEW]);
    web1.releases.delete(OLD);
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-inconsistent');
    expect(web1.current).toBe(NEW);
    // Where its `current` is, only web1 can say: named as the release it was being moved to, marked unsure.
    expect(outcome.uncertain).toEqual(['web1']);
  });

  it('a host whose loss is heard by the run while its switch is in flight is reported as maybe on the new release', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    const web2 = fleet.host('web2');
    const activate = web2.activate.bind(web2);
    web2.activate = async (id, options) => {
      const state = await activate(id, options);
      if (id !== NEW) return state;
      // The keepalives run out while the activation runs: the run aborts it, and its answer never comes.
      web2.loseConnection();
      options.signal?.throwIfAborted();
      return state;
    };
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-inconsistent');
    expect(outcome.hosts.web2).toBe(NEW);
    expect(outcome.uncertain).toEqual(['web2']);
  });

  it('a host lost while another is gated fails the run at once, naming it; its switch is never sent, so only the gated host is reverted', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    const web1 = fleet.host('web1');
    web1.faults.neverReady = new Set([NEW]);
    const activate = web1.activate.bind(web1);
    let lostAt = 0;
    web1.activate = async (id, options) => {
      const state = await activate(id, options);
      if (id === NEW) {
        lostAt = fleet.clock.now();
        fleet.host('web3').loseConnection();
      }
      return state;
    };
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-restored');
    expect(outcome.failure).toBe('web3: connection lost');
    expect(outcome.unrestored).toEqual([]);
    expect(outcome.hosts).toEqual({ web1: OLD, web2: OLD, web3: OLD });
    // Not at web1's healthyDeadline: as the loss was heard.
    expect(outcome.durations.rollout).toBeLessThan(fleet.config.health.healthyDeadline);
    const failed = fleet.events.find((e) => e.type === 'host.failed');
    expect(failed).toMatchObject({ host: 'web1', error: 'web3: connection lost' });
    expect(fleet.events.filter((e) => e.type === 'host.activating').map((e) => ('host' in e ? e.host : ''))).toEqual(['web1', 'web1']);
    expect(lostAt).toBeGreaterThan(0);
    for (const name of ['web2', 'web3']) expect(fleet.host(name).calls.filter((c) => c.startsWith('activate'))).toEqual([]);
  });

  it('a host whose connection was already gone when its turn came was not switched: restored, not inconsistent', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    // Gone without a word (no loss heard) after the prepare: its activation fails before it is sent.
    const web1 = fleet.host('web1');
    const activate = web1.activate.bind(web1);
    web1.activate = async (id, options) => {
      fleet.host('web3').faults.unreachable = true;
      return activate(id, options);
    };
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-restored');
    expect(outcome.unrestored).toEqual([]);
    expect(outcome.failure).toMatch(/web3: connection lost/);
    expect(outcome.hosts).toEqual({ web1: OLD, web2: OLD, web3: OLD });
  });

  it('without autoRevert a failure leaves hosts where they are and says so', async () => {
    const fleet = makeFleet(2, { rollout: { canary: 0, maxParallel: 1, stagger: 0, progressDeadline: 600_000, autoRevert: false } });
    seed(fleet, OLD);
    fleet.host('web2').faults.neverReady = new Set([NEW]);
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(outcome.result).toBe('failed-inconsistent');
    expect(fleet.host('web1').current).toBe(NEW);
    expect(types(fleet.events)).not.toContain('rollback.started');
  });

  it('keeps keepReleases good releases, the current, and never lets bad ones push good ones out', async () => {
    const fleet = makeFleet(1, { keepReleases: 2 });
    const ids = ['20261120T000000Z', '20261121T000000Z', '20261122T000000Z', '20261123T000000Z'];
    for (const id of ids) expect((await deploy(fleet.ctx(), releaseSpec(id))).result).toBe('success');
    fleet.host('web1').faults.neverReady = new Set(['20261124T000000Z', '20261124T010000Z']);
    await deploy(fleet.ctx(), releaseSpec('20261124T000000Z'));
    await deploy(fleet.ctx(), releaseSpec('20261124T010000Z'));
    expect([...fleet.host('web1').releases.keys()].sort()).toEqual(['20261122T000000Z', '20261123T000000Z', '20261124T010000Z']);
  });

  it('stagger pauses between batches', async () => {
    const fleet = makeFleet(2, { rollout: { canary: 0, maxParallel: 1, stagger: 30_000, progressDeadline: 600_000, autoRevert: true } });
    seed(fleet, OLD);
    const started = fleet.clock.now();
    await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(fleet.clock.now() - started).toBeGreaterThanOrEqual(30_000 + 2 * 6_000);
  });
});

describe('stale locks', () => {
  it('a lock left by a dead run of ours is removed, said, and the deploy goes on; a live holder still wins', async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    fleet.host('web2').lockInfo = { ...lockInfo('dead-run'), pid: 999_999 };
    const outcome = await deploy(fleet.ctx({ isStaleLock: (l) => l.pid === 999_999 }), releaseSpec(NEW));
    expect(outcome.result).toBe('success');
    expect(fleet.events).toContainEqual(expect.objectContaining({ type: 'host.lock_stale', host: 'web2' }));
    expect(fleet.host('web2').lockInfo).toBeNull();

    fleet.host('web1').lockInfo = { ...lockInfo('alive'), pid: 4242 };
    const error = await deploy(fleet.ctx({ isStaleLock: (l) => l.pid === 999_999 }), releaseSpec('20261126T000000Z')).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/web1: deploy lock held by/);
  });
});

describe('a run killed mid-rollout (SIGKILL: no cleanup ran)', () => {
  const KILLED = '20261125T120000Z';
  /** The killed run staged KILLED everywhere and switched web1 and web2 to it before it died holding the lock. */
  function killedMidRollout() {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    for (const [name, host] of fleet.hosts) {
      host.releases.set(KILLED, { meta: { ...releaseSpec(KILLED).meta, state: 'staged' }, files: releaseSpec(KILLED).files });
      if (name !== 'web3') host.current = KILLED;
      host.lockInfo = { ...lockInfo('dead-run'), pid: 999_999, release: KILLED };
    }
    return fleet;
  }

  it('the next deploy marks the dead run release interrupted where it was left staged, so hosts agree on it', async () => {
    const fleet = killedMidRollout();
    const outcome = await deploy(fleet.ctx({ isStaleLock: (l) => l.pid === 999_999 }), releaseSpec(NEW));
    expect(outcome.result).toBe('success');
    for (const host of fleet.hosts.values()) {
      expect(host.releases.get(KILLED)?.meta.state).toBe('interrupted');
      expect(host.releases.get(OLD)?.meta.state).toBe('good');
      expect(host.current).toBe(NEW);
    }
  });

  it('a release the dead run had already recorded (good or bad) is left as it was, and takes that state where it was left staged', async () => {
    const fleet = killedMidRollout();
    fleet.host('web1').releases.get(KILLED)!.meta.state = 'good';
    await deploy(fleet.ctx({ isStaleLock: (l) => l.pid === 999_999 }), releaseSpec(NEW));
    expect(fleet.host('web1').releases.get(KILLED)?.meta.state).toBe('good');
    // Its finish recorded it good on web1 before it died: it passed every gate, so it is good on web2 too.
    expect(fleet.host('web2').releases.get(KILLED)?.meta.state).toBe('good');
  });

  it('a run that lost one host recorded its release bad on the others: the next run marks it bad there too, not interrupted', async () => {
    // As on the lab: web2's link was cut in its gate; the run reverted web1, recorded KILLED bad on web1 and web3,
    // and could neither record nor unlock on web2, whose lock the next run finds stale.
    const fleet = killedMidRollout();
    for (const name of ['web1', 'web3']) {
      fleet.host(name).releases.get(KILLED)!.meta.state = 'bad';
      fleet.host(name).lockInfo = null;
    }
    const outcome = await deploy(fleet.ctx({ isStaleLock: (l) => l.pid === 999_999 }), releaseSpec(NEW));
    expect(outcome.result).toBe('success');
    for (const host of fleet.hosts.values()) expect(host.releases.get(KILLED)?.meta.state).toBe('bad');
  });

  it('a host where marking fails keeps it staged; the deploy goes on and releases every lock', async () => {
    const fleet = killedMidRollout();
    const web2 = fleet.host('web2');
    const record = web2.record.bind(web2);
    web2.record = async (id, state, history, after) => {
      if (state === 'interrupted') throw new Error('sed: cannot write meta.json');
      return record(id, state, history, after);
    };
    const outcome = await deploy(fleet.ctx({ isStaleLock: (l) => l.pid === 999_999 }), releaseSpec(NEW));
    expect(outcome.result).toBe('success');
    expect(web2.releases.get(KILLED)?.meta.state).toBe('staged');
    expect(fleet.host('web1').releases.get(KILLED)?.meta.state).toBe('interrupted');
    for (const host of fleet.hosts.values()) expect(host.lockInfo).toBeNull();
  });

  it('a live holder’s release is never touched', async () => {
    const fleet = killedMidRollout();
    await deploy(fleet.ctx({ isStaleLock: () => false }), releaseSpec(NEW)).catch(() => undefined);
    for (const host of fleet.hosts.values()) expect(host.releases.get(KILLED)?.meta.state).toBe('staged');
  });
});

describe('a revert or rollback to a release deployed with another readiness path', () => {
  const OLDEST = '20261123T100000Z';

  it('is gated on the path that release serves, not on the one the new config names', async () => {
    const fleet = makeFleet(2);
    // OLD was deployed when the config said /readyz, and serves only that; the config now says /ready.
    const old = releaseSpec(OLD);
    old.meta.readiness = '/readyz';
    expect((await deploy(fleet.ctx(), old)).result).toBe('success');
    fleet.config.health = { ...fleet.config.health, readiness: '/ready' };
    const next = releaseSpec(NEW);
    next.meta.readiness = '/ready';
    for (const host of fleet.hosts.values()) host.faults.servesReadiness = new Map([[OLD, '/readyz'], [NEW, '/ready']]);
    fleet.host('web1').faults.neverReady = new Set([NEW]);
    const outcome = await deploy(fleet.ctx(), next);
    // The revert to OLD passes its gate on /readyz: every host restored (exit 5), not "may be inconsistent" (6).
    expect(outcome.result).toBe('failed-restored');
    expect(fleet.host('web1').current).toBe(OLD);
  });

  it("a release without a recorded path (staged before it was recorded) is gated on the config's", async () => {
    const fleet = makeFleet(1);
    seed(fleet, OLDEST);
    for (const host of fleet.hosts.values()) host.faults.servesReadiness = new Map([[OLDEST, '/readyz'], [NEW, '/readyz']]);
    expect((await deploy(fleet.ctx(), releaseSpec(NEW))).result).toBe('success');
  });
});
