import { ShipitError } from '../../src/lib/errors.js';
import type { RemovalReport } from '../../src/host/types.js';
import { checkRemovable, describeRemoval, planHostRemoval, planRemoval, removeApp, removalUnits } from '../../src/rollout/remove.js';
import { lockInfo, makeFleet, seed } from './fleet.js';

const OLD = '20261124T100000Z';

const refusal = (fn: () => unknown): ShipitError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ShipitError) return error;
    throw error;
  }
  throw new Error('not refused');
};

const report = (overrides: Partial<RemovalReport> = {}): RemovalReport => ({
  dir: 'directory',
  entries: ['.shipit', 'current', 'releases', 'shared'],
  extra: [],
  current: OLD,
  releases: 1,
  lock: null,
  units: [
    { name: 'hello.socket', owner: 'shipit', active: 'active' },
    { name: 'hello.service', owner: 'shipit', active: 'active' },
  ],
  ...overrides,
});

/** A fleet whose hosts all run OLD with shipit's units installed, as after a deploy. */
function deployedFleet(count: number) {
  const fleet = makeFleet(count);
  seed(fleet, OLD);
  for (const host of fleet.hosts.values()) for (const unit of removalUnits(fleet.config)) host.units.set(unit, `# ${unit}, rendered by shipit from units/x.tmpl`);
  return fleet;
}

describe('checkRemovable: what remove refuses before connecting', () => {
  it.each([
    ['/srv', 'is a top-level directory, which holds more than one app'],
    ['/opt', 'is a top-level directory, which holds more than one app'],
    ['/', 'is the root directory'],
    ['/usr/local', "is one of the system's own directories"],
    ['/var/lib', "is one of the system's own directories"],
    ['/etc/ssh', "is one of the system's own directories"],
    ['srv/hello', 'is not an absolute, normalized path'],
    ['/srv/../etc', 'is not an absolute, normalized path'],
  ])('deployTo %s: refused naming the field', (deployTo, why) => {
    const error = refusal(() => checkRemovable({ app: 'hello', deployTo }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(`deployTo: ${JSON.stringify(deployTo)} ${why}: shipit remove deletes deployTo, and only a directory of the app's own like /srv/hello`);
  });

  it('its hint names the environment', () => {
    expect(refusal(() => checkRemovable({ app: 'hello', deployTo: '/srv', environment: 'staging' })).hint).toContain('`shipit units staging`');
  });

  it.each(['', 'Hello', '../x', 'a b'])('app %j: refused naming the field', (app) => {
    const error = refusal(() => checkRemovable({ app, deployTo: '/srv/hello' }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/^app: .* is not an app name shipit deploys/);
  });

  it.each(['/srv/hello', '/opt/hello', '/var/lib/hello', '/home/deploy/apps/hello'])('accepts %s', (deployTo) => {
    expect(() => checkRemovable({ app: 'hello', deployTo })).not.toThrow();
  });
});

describe('planHostRemoval: what one host says, turned into what to remove or a refusal', () => {
  const config = { app: 'hello', deployTo: '/srv/hello' };

  it('a deployed host: its shipit units and deployTo', () => {
    const plan = planHostRemoval(config, 'web1', report());
    expect(plan).toMatchObject({ nothing: false, dir: '/srv/hello', units: [{ name: 'hello.socket' }, { name: 'hello.service' }], kept: [] });
    expect(describeRemoval(plan, true)).toBe(`would remove: hello.socket (active), hello.service (active), /srv/hello (1 release(s), current ${OLD})`);
    expect(describeRemoval(plan, false)).toBe(`removed: hello.socket, hello.service, /srv/hello (1 release(s), current ${OLD})`);
  });

  it('a host never deployed to, or one holding only the lock directory: nothing deployed, not an error', () => {
    const none = planHostRemoval(config, 'web2', report({ dir: 'absent', entries: [], current: null, releases: 0, units: [] }));
    expect(none.nothing).toBe(true);
    expect(describeRemoval(none, true)).toBe('nothing deployed');
    expect(planHostRemoval(config, 'web2', report({ entries: ['.shipit'], current: null, releases: 0, units: [] })).nothing).toBe(true);
  });

  it("the service's state directory (/var/lib/<app>, the app's data) is kept and named, also where nothing else is left", () => {
    const plan = planHostRemoval(config, 'web1', report({ state: '/var/lib/hello' }));
    expect(plan.state).toBe('/var/lib/hello');
    expect(describeRemoval(plan, false)).toBe(`removed: hello.socket, hello.service, /srv/hello (1 release(s), current ${OLD}); /var/lib/hello (the app's data) was kept: \`rm -r /var/lib/hello\` if it is not needed`);
    const after = planHostRemoval(config, 'web1', report({ dir: 'absent', entries: [], current: null, releases: 0, units: [], state: '/var/lib/hello' }));
    expect(describeRemoval(after, true)).toBe("nothing deployed; /var/lib/hello (the app's data) is kept: `rm -r /var/lib/hello` if it is not needed");
  });

  it("a unit of the app's name that shipit did not write is left alone and said so", () => {
    const plan = planHostRemoval(config, 'web1', report({ dir: 'absent', entries: [], current: null, releases: 0, units: [{ name: 'hello.service', owner: 'other', active: 'active' }] }));
    expect(plan).toMatchObject({ nothing: true, units: [], kept: ['hello.service'] });
    expect(describeRemoval(plan, true)).toBe('nothing deployed; hello.service not written by shipit: left alone');
  });

  it('a symlinked deployTo is refused, never followed', () => {
    const error = refusal(() => planHostRemoval(config, 'web1', report({ dir: 'symlink' })));
    expect(error.message).toBe("web1: deployTo /srv/hello is a symbolic link: shipit remove deletes only a directory of the app's own, never what a link points to");
    expect(error.exitCode).toBe(2);
    expect(refusal(() => planHostRemoval(config, 'web1', report({ dir: 'other' }))).message).toContain('is not a directory');
  });

  it("entries shipit does not create are someone's data: refused, naming them", () => {
    const error = refusal(() => planHostRemoval(config, 'web3', report({ extra: ['uploads', 'db.sqlite'] })));
    expect(error.message).toBe("web3: deployTo /srv/hello holds entries shipit did not create (uploads, db.sqlite): they may be someone's data, so it is not removed");
    expect(error.hint).toContain('move them out of /srv/hello');
  });

  it("another app's releases in deployTo: refused as rollback refuses them", () => {
    const error = refusal(() => planHostRemoval(config, 'web1', report({ foreignUnit: 'api.service' })));
    expect(error.message).toBe("web1: /srv/hello holds another app's releases (api.service), not hello's");
  });
});

describe('the service user', () => {
  const config = { app: 'hello', deployTo: '/srv/hello' };
  it('is kept and named, with the command that deletes it', () => {
    const plan = planHostRemoval(config, 'web1', report({ user: 'hello' }));
    expect(describeRemoval(plan, true)).toBe(`would remove: hello.socket (active), hello.service (active), /srv/hello (1 release(s), current ${OLD}); the service user hello is kept: \`userdel hello\` if nothing else runs as it or owns files`);
    expect(describeRemoval(plan, false)).toContain('; the service user hello was kept: `userdel hello`');
  });

  it("is not offered for userdel when the units serve another environment's deployTo (it runs them)", () => {
    const plan = planHostRemoval(config, 'web1', report({ user: 'hello', unitsElsewhere: { deployTo: '/srv/hello-production', port: null } }));
    expect(plan.user).toBeNull();
    expect(describeRemoval(plan, true)).not.toContain('userdel');
  });
});

describe("units that serve another environment's deployTo (two environments of one app on a host)", () => {
  it('are left alone and named; deployTo is still removed', () => {
    const config = { app: 'hello', deployTo: '/srv/hello' };
    const plan = planHostRemoval(config, 'web1', report({
      state: '/var/lib/hello',
      unitsElsewhere: { deployTo: '/srv/hello-production', port: '8000' },
      units: [
        { name: 'hello.socket', owner: 'elsewhere', active: 'active' },
        { name: 'hello.service', owner: 'elsewhere', active: 'active' },
      ],
    }));
    expect(plan.units).toEqual([]);
    expect(plan.nothing).toBe(false);
    // /var/lib/hello is the other environment's live data then: not offered for `rm -r`.
    expect(plan.state).toBeNull();
    expect(describeRemoval(plan, true)).toBe(`would remove: /srv/hello (1 release(s), current ${OLD}); hello.socket, hello.service serve /srv/hello-production (port 8000) (another environment of the app): left alone`);
  });

  it('removeApp keeps them running on that host', async () => {
    const fleet = deployedFleet(2);
    fleet.host('web2').unitsElsewhere = { deployTo: '/srv/hello-production', port: null };
    const outcome = await removeApp(fleet.ctx());
    expect(outcome.failed).toEqual([]);
    expect(fleet.host('web1').units.size).toBe(0);
    expect([...fleet.host('web2').units.keys()].sort()).toEqual(['hello.service', 'hello.socket']);
    expect(fleet.host('web2').releases.size).toBe(0);
    expect(describeRemoval(outcome.removed.get('web2')!, false)).toContain('hello.socket, hello.service serve /srv/hello-production (another environment of the app): left alone');
  });
});

describe('removeApp on an in-memory fleet', () => {
  it('removes units, releases and deployTo on every host; a host never deployed to says nothing was there', async () => {
    const fleet = deployedFleet(3);
    const web3 = fleet.host('web3');
    web3.current = null;
    web3.releases.clear();
    web3.units.clear();
    const outcome = await removeApp(fleet.ctx());
    expect(outcome.failed).toEqual([]);
    expect(outcome.removed.get('web1')).toMatchObject({ nothing: false, units: [{ name: 'hello.socket' }, { name: 'hello.service' }] });
    expect(outcome.removed.get('web3')).toMatchObject({ nothing: true });
    for (const host of fleet.hosts.values()) {
      expect(host.units.size).toBe(0);
      expect(host.current).toBeNull();
      expect(host.releases.size).toBe(0);
      expect(host.lockInfo).toBeNull();
    }
  });

  it('running it twice is safe: the second run finds nothing', async () => {
    const fleet = deployedFleet(2);
    await removeApp(fleet.ctx());
    const again = await removeApp(fleet.ctx({ lock: lockInfo('tok-2') }));
    expect(again.failed).toEqual([]);
    expect([...again.removed.values()].map((p) => p.nothing)).toEqual([true, true]);
  });

  it('a lock someone else holds refuses it (exit 4) and nothing is removed anywhere', async () => {
    const fleet = deployedFleet(3);
    fleet.host('web2').lockInfo = lockInfo('theirs', 'bob@ci');
    await expect(removeApp(fleet.ctx())).rejects.toMatchObject({ code: 'LOCK_HELD', exitCode: 4 });
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe(OLD);
      expect(host.units.size).toBe(2);
      expect(host.calls).not.toContain('remove');
    }
    expect(fleet.host('web2').lockInfo?.token).toBe('theirs');
    expect(fleet.host('web1').lockInfo).toBeNull();
  });

  it('planRemoval refuses the whole fleet when one host holds data in deployTo; nothing is touched', async () => {
    const fleet = deployedFleet(3);
    fleet.host('web2').extraEntries = ['uploads'];
    await expect(planRemoval(fleet.ctx())).rejects.toThrow("web2: deployTo /srv/hello holds entries shipit did not create (uploads)");
    for (const host of fleet.hosts.values()) expect(host.calls).toEqual([]);
  });

  it('a host that refuses under the lock keeps everything, its lock is released, and it is reported', async () => {
    const fleet = deployedFleet(2);
    fleet.host('web2').deployToKind = 'symlink';
    const outcome = await removeApp(fleet.ctx());
    expect(outcome.removed.has('web1')).toBe(true);
    expect(outcome.failed.map((f) => f.host)).toEqual(['web2']);
    expect(fleet.host('web2').current).toBe(OLD);
    expect(fleet.host('web2').lockInfo).toBeNull();
  });

  it('refuses a deployTo of /srv before touching any host', async () => {
    const fleet = makeFleet(1, { deployTo: '/srv' });
    await expect(removeApp(fleet.ctx())).rejects.toThrow('deployTo: "/srv" is a top-level directory');
    expect(fleet.host('web1').calls).toEqual([]);
  });
});

describe('removeApp interrupted (Ctrl-C: the CLI aborts the signal, session.ts trapSignals)', () => {
  const ctrlC = () => {
    const abort = new AbortController();
    return { abort, press: () => abort.abort(new ShipitError('ABORTED', 'interrupted by SIGINT')) };
  };
  const untouched = (fleet: ReturnType<typeof deployedFleet>) => {
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe(OLD);
      expect(host.units.size).toBe(2);
      expect(host.calls).not.toContain('remove');
    }
  };

  it('once every lock is taken but before any removal is sent: exit 130, nothing removed, every lock released', async () => {
    const fleet = deployedFleet(3);
    const { abort, press } = ctrlC();
    let locked = 0;
    const run = removeApp(fleet.ctx({ signal: abort.signal, emit: (e) => (e.type === 'host.locked' && ++locked === 3 ? press() : undefined) }));
    await expect(run).rejects.toMatchObject({
      code: 'ABORTED',
      exitCode: 130,
      message: "interrupted by SIGINT before any host's removal was sent: nothing was removed (the deploy lock was released)",
      hint: 'run `shipit remove production --yes` again when ready',
    });
    untouched(fleet);
    for (const host of fleet.hosts.values()) expect(host.lockInfo).toBeNull();
  });

  it('while it waits for a lock someone holds: exit 130, their lock kept, none of ours left', async () => {
    const fleet = deployedFleet(3);
    fleet.host('web3').lockInfo = lockInfo('theirs', 'bob@ci');
    const { abort, press } = ctrlC();
    const run = removeApp(fleet.ctx({ signal: abort.signal, lockWaitMs: 60_000 }));
    const settled = run.catch((e: unknown) => e);
    while (!fleet.host('web1').calls.includes('unlock')) await new Promise((r) => setImmediate(r));
    press();
    expect(await settled).toMatchObject({ code: 'ABORTED', exitCode: 130 });
    untouched(fleet);
    expect(fleet.host('web3').lockInfo?.token).toBe('theirs');
    expect([fleet.host('web1').lockInfo, fleet.host('web2').lockInfo]).toEqual([null, null]);
  });

  it('once the removals are sent they are not cut off: every host is removed and no lock is left', async () => {
    const fleet = deployedFleet(3);
    const { abort, press } = ctrlC();
    // Ctrl-C lands as web1's removal starts, before web2's and web3's are under way.
    const web1 = fleet.host('web1');
    const remove = web1.removal.bind(web1);
    web1.removal = (...args) => {
      press();
      return remove(...args);
    };
    const outcome = await removeApp(fleet.ctx({ signal: abort.signal }));
    expect(outcome.failed).toEqual([]);
    expect([...outcome.removed.keys()]).toEqual(['web1', 'web2', 'web3']);
    for (const host of fleet.hosts.values()) {
      expect(host.calls).toContain('remove');
      expect(host.lockInfo).toBeNull();
    }
    // What the CLI's forced quit (a third Ctrl-C) reads to name the hosts whose removal was still running.
    expect(fleet.events.filter((e) => e.type.startsWith('host.remov')).map((e) => e.type)).toEqual([
      ...['host.removing', 'host.removing', 'host.removing'],
      ...['host.removal_finished', 'host.removal_finished', 'host.removal_finished'],
    ]);
  });
});
