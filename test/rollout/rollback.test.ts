import { rollback } from '../../src/rollout/rollback.js';
import { deploy } from '../../src/rollout/deploy.js';
import { ShipitError } from '../../src/lib/errors.js';
import type { RolloutEvent } from '../../src/rollout/events.js';
import { lockInfo, makeFleet, releaseSpec, seed } from './fleet.js';

const A = '20261123T100000Z';
const B = '20261124T100000Z';
const C = '20261125T100000Z';

async function fleetOnC() {
  const fleet = makeFleet(3);
  seed(fleet, A);
  expect((await deploy(fleet.ctx(), releaseSpec(B))).result).toBe('success');
  expect((await deploy(fleet.ctx(), releaseSpec(C))).result).toBe('success');
  fleet.events.length = 0;
  return fleet;
}

describe('rollback on an in-memory fleet', () => {
  it('with no target, returns every host to the newest good release before current', async () => {
    const fleet = await fleetOnC();
    const outcome = await rollback(fleet.ctx());
    expect(outcome.result).toBe('success');
    expect(outcome.release).toBe(B);
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe(B);
      expect(host.history.at(-1)).toMatchObject({ action: 'rollback', release: B, previous: C, result: 'success' });
    }
    // Twice in a row walks further back.
    expect((await rollback(fleet.ctx())).release).toBe(A);
  });

  it("refuses, before the lock, a deployTo that holds another app's releases (two configs with one deployTo)", async () => {
    const fleet = await fleetOnC();
    for (const host of fleet.hosts.values()) host.calls.length = 0;
    fleet.host('web2').foreignUnit = 'api.service';
    const error = await rollback(fleet.ctx()).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'USAGE',
      message: `web2: ${fleet.config.deployTo} holds another app's releases (api.service), not ${fleet.config.app}'s`,
      hint: `deployTo must be this app's own directory (the default is /srv/${fleet.config.app}); nothing was changed`,
    });
    expect((error as ShipitError).exitCode).toBe(2);
    expect(fleet.events.filter((e) => e.type === 'host.locked' || e.type === 'host.activating')).toEqual([]);
    for (const host of fleet.hosts.values()) expect(host.current).toBe(C);
  });

  it("refuses, before the lock, a host whose units serve another environment's deployTo (two environments of one app on a host)", async () => {
    const fleet = await fleetOnC();
    for (const host of fleet.hosts.values()) host.calls.length = 0;
    fleet.host('web3').unitsElsewhere = { deployTo: '/srv/hello-production', port: '8000' };
    const error = await rollback(fleet.ctx()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_CONFLICT', host: 'web3', hint: 'nothing was changed' });
    expect((error as ShipitError).message).toMatch(/^web3: hello\.service and hello\.socket on this host serve \/srv\/hello-production \(port 8000\), another deployTo of hello .*rolling back \/srv\/hello would take them over/);
    expect((error as ShipitError).exitCode).toBe(2);
    expect(fleet.events.filter((e) => e.type === 'host.locked' || e.type === 'host.activating')).toEqual([]);
    for (const host of fleet.hosts.values()) expect(host.calls).toEqual([]);
  });

  it("a lock command cut off after it took the lock (Ctrl-C while it ran) is released with the others': no host keeps our lock", async () => {
    const fleet = await fleetOnC();
    fleet.host('web2').faults.lockAnswerLost = true;
    await expect(rollback(fleet.ctx())).rejects.toThrow('Aborted lock on web2');
    for (const host of fleet.hosts.values()) expect(host.lockInfo).toBeNull();
    expect(fleet.host('web2').current).toBe(C);
  });

  it('to a release deployed with another readiness path: gated on the path it serves, not the one the config names now', async () => {
    const fleet = makeFleet(2);
    const b = releaseSpec(B);
    b.meta.readiness = '/readyz';
    expect((await deploy(fleet.ctx(), b)).result).toBe('success');
    fleet.config.health = { ...fleet.config.health, readiness: '/ready' };
    const c = releaseSpec(C);
    c.meta.readiness = '/ready';
    for (const host of fleet.hosts.values()) host.faults.servesReadiness = new Map([[B, '/readyz'], [C, '/ready']]);
    expect((await deploy(fleet.ctx(), c)).result).toBe('success');
    const outcome = await rollback(fleet.ctx());
    expect(outcome.result).toBe('success');
    for (const host of fleet.hosts.values()) expect(host.current).toBe(B);
  });

  it('skips releases marked bad', async () => {
    const fleet = await fleetOnC();
    for (const host of fleet.hosts.values()) host.releases.get(B)!.meta.state = 'bad';
    expect((await rollback(fleet.ctx())).release).toBe(A);
  });

  it('--to picks the release, and refuses one a host does not have', async () => {
    const fleet = await fleetOnC();
    expect((await rollback(fleet.ctx(), A)).release).toBe(A);
    fleet.host('web2').releases.delete(B);
    const error = await rollback(fleet.ctx(), B).catch((e: unknown) => e);
    expect((error as ShipitError).message).toBe(`release ${B} is not present on web2`);
  });

  it('--to a mistyped id names the release meant when one every host has is nearer than the others', async () => {
    const fleet = await fleetOnC();
    const typo = '20261124T100001Z';
    const error = await rollback(fleet.ctx(), typo).catch((e: unknown) => e);
    expect((error as ShipitError).message).toBe(`release ${typo} is not present on web1, web2, web3 (did you mean ${B}?)`);
    expect((error as ShipitError).exitCode).toBe(2);
    for (const host of fleet.hosts.values()) expect(host.current).toBe(C);
  });

  it('--to a release no host has is refused before the lock: no lock taken, nothing waited for, even when the lock is held', async () => {
    const fleet = await fleetOnC();
    for (const host of fleet.hosts.values()) host.calls.length = 0;
    const missing = '20261126T100000Z';
    const error = await rollback(fleet.ctx(), missing).catch((e: unknown) => e);
    expect((error as ShipitError).message).toBe(`release ${missing} is not present on web1, web2, web3`);
    expect((error as ShipitError).exitCode).toBe(2);
    expect(fleet.events.filter((e) => e.type === 'host.locked' || (e.type === 'phase.started' && e.phase === 'lock'))).toEqual([]);
    for (const host of fleet.hosts.values()) expect(host.calls).toEqual([]);
    // Someone else holds the lock: the wrong id is still what is reported (exit 2), not the lock (exit 4).
    await fleet.host('web2').lock(lockInfo('tok-other', 'bob@ci'));
    const held = await rollback(fleet.ctx({ lockWaitMs: 60_000 }), missing).catch((e: unknown) => e);
    expect(held).toMatchObject({ code: 'USAGE', message: `release ${missing} is not present on web1, web2, web3` });
  });

  it('with no target, nothing to roll back to is found before the lock: no lock taken, even when someone holds it', async () => {
    const fleet = makeFleet(3);
    seed(fleet, A);
    fleet.events.length = 0;
    for (const host of fleet.hosts.values()) host.calls.length = 0;
    const error = await rollback(fleet.ctx()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'USAGE', exitCode: 2, message: `no good release older than ${A} is present on every host` });
    expect(fleet.events.filter((e) => e.type === 'host.locked' || (e.type === 'phase.started' && e.phase === 'lock'))).toEqual([]);
    for (const host of fleet.hosts.values()) expect(host.calls).toEqual([]);
    // Someone else holds the lock: nothing to roll back to is still what is reported (exit 2), not the lock (exit 4).
    await fleet.host('web2').lock(lockInfo('tok-other', 'bob@ci'));
    const held = await rollback(fleet.ctx({ lockWaitMs: 60_000 })).catch((e: unknown) => e);
    expect(held).toMatchObject({ code: 'USAGE', message: `no good release older than ${A} is present on every host` });
  });

  it('refuses when the target equals current on every host, touching nothing', async () => {
    const fleet = await fleetOnC();
    const error = await rollback(fleet.ctx(), C).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShipitError);
    expect((error as ShipitError).message).toBe(`every host already runs ${C}`);
    expect((error as ShipitError).hint).toBe('pick another release with `shipit rollback production --to <id>`');
    for (const host of fleet.hosts.values()) {
      expect(host.lockInfo).toBeNull();
      expect(host.current).toBe(C);
    }
  });

  it('only moves hosts not already on the target', async () => {
    const fleet = await fleetOnC();
    fleet.host('web1').current = B;
    fleet.host('web1').calls.length = 0;
    await rollback(fleet.ctx(), B);
    expect(fleet.host('web1').calls.some((c) => c.startsWith('activate'))).toBe(false);
    expect(fleet.host('web3').current).toBe(B);
  });

  it('a rollback stopped by Ctrl-C returns the fleet to where it was; its good target stays good, so the next rollback still picks it', async () => {
    // Found by a trial: the target was marked interrupted, and `shipit rollback` then went past it to an older release.
    const fleet = await fleetOnC();
    const abort = new AbortController();
    const ctx = fleet.ctx({ signal: abort.signal });
    const emit = ctx.emit;
    ctx.emit = (event: RolloutEvent) => {
      emit(event);
      if (event.type === 'host.activating' && event.host === 'web2' && !abort.signal.aborted) abort.abort(new ShipitError('ABORTED', 'interrupted by SIGINT'));
    };
    const outcome = await rollback(ctx);
    expect({ result: outcome.result, interrupted: outcome.interrupted, release: outcome.release }).toEqual({ result: 'failed-restored', interrupted: true, release: B });
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe(C);
      expect(host.releases.get(B)!.meta.state).toBe('good');
      expect(host.history.at(-1)).toMatchObject({ action: 'rollback', release: B, result: 'failed-restored', error: 'interrupted by SIGINT' });
    }
    expect((await rollback(fleet.ctx())).release).toBe(B);
  });

  it('a target that fails its gate returns the fleet to where it was and is marked bad', async () => {
    const fleet = await fleetOnC();
    fleet.host('web2').faults.neverReady = new Set([B]);
    const outcome = await rollback(fleet.ctx());
    expect(outcome.result).toBe('failed-restored');
    for (const host of fleet.hosts.values()) expect(host.current).toBe(C);
    expect(fleet.host('web2').releases.get(B)!.meta.state).toBe('bad');
  });
});
