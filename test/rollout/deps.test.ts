import { Readable } from 'node:stream';
import type { DepsSpec } from '../../src/host/deps-types.js';
import { planDepsPrune } from '../../src/host/deps-prune.js';
import { deploy } from '../../src/rollout/deploy.js';
import { rollback } from '../../src/rollout/rollback.js';
import { makeFleet, releaseSpec } from './fleet.js';

/** Dependency sets through deploys, a failed prepare, rollback and pruning, on the in-memory fleet. */
const python = (key: string): DepsSpec => ({
  kind: 'python',
  key: key.repeat(64),
  interpreter: 'python3',
  systemSitePackages: false,
  offline: true,
  imports: [],
  files: [],
  openTar: () => Readable.from([]),
});
const withDeps = (id: string, key: string) => ({ ...releaseSpec(id), deps: [python(key)] });
const SET_A = `python/${'a'.repeat(16)}`;
const SET_B = `python/${'b'.repeat(16)}`;

describe('dependency sets on an in-memory fleet', () => {
  it('are built once, reused by releases with the same deps, kept for rollback, pruned with the releases', async () => {
    const fleet = makeFleet(2, { keepReleases: 2 });
    const prepared = () => fleet.events.filter((e) => e.type === 'host.prepared').map((e) => (e.type === 'host.prepared' ? e.deps?.map((d) => d.created) : []));

    expect((await deploy(fleet.ctx(), withDeps('20261125T100000Z', 'a'))).result).toBe('success');
    expect(prepared()).toEqual([[true], [true]]);
    fleet.events.length = 0;
    expect((await deploy(fleet.ctx(), withDeps('20261125T110000Z', 'a'))).result).toBe('success');
    expect(prepared()).toEqual([[false], [false]]);
    fleet.events.length = 0;
    expect((await deploy(fleet.ctx(), withDeps('20261125T120000Z', 'b'))).result).toBe('success');
    expect(prepared()).toEqual([[true], [true]]);
    for (const host of fleet.hosts.values()) expect([...host.depsSets].sort()).toEqual([SET_A, SET_B]);

    // Rollback to the release on set A: nothing to build, the set is there.
    expect((await rollback(fleet.ctx())).result).toBe('success');
    for (const host of fleet.hosts.values()) expect(host.current).toBe('20261125T110000Z');

    // Two more on set A: the release on set B is pruned (keepReleases 2), and set B with it.
    await deploy(fleet.ctx(), withDeps('20261125T130000Z', 'a'));
    await deploy(fleet.ctx(), withDeps('20261125T140000Z', 'a'));
    for (const host of fleet.hosts.values()) {
      expect([...host.releases.keys()].sort()).toEqual(['20261125T130000Z', '20261125T140000Z']);
      expect([...host.depsSets]).toEqual([SET_A]);
    }
  });

  it('a set that cannot be built on one host fails prepare: nothing is switched anywhere', async () => {
    const fleet = makeFleet(3);
    await deploy(fleet.ctx(), withDeps('20261125T100000Z', 'a'));
    fleet.host('web2').faults.depsFail = 'installing the Python dependencies failed: pip failed';
    const outcome = await deploy(fleet.ctx(), withDeps('20261125T110000Z', 'b'));
    expect(outcome.result).toBe('failed-restored');
    expect(outcome.failure).toBe('prepare failed: web2: installing the Python dependencies failed: pip failed');
    for (const host of fleet.hosts.values()) {
      expect(host.current).toBe('20261125T100000Z');
      expect(host.releases.has('20261125T110000Z')).toBe(false);
      // Set B, built on the hosts whose prepare passed, went with the discarded release.
      expect([...host.depsSets]).toEqual([SET_A]);
    }
  });

  it('planDepsPrune: sets no release links to', () => {
    expect(planDepsPrune([SET_A, SET_B, 'node/cccccccccccccccc'], [[SET_A], [SET_A, 'node/cccccccccccccccc'], []])).toEqual([SET_B]);
    expect(planDepsPrune([SET_A], [])).toEqual([SET_A]);
  });
});
