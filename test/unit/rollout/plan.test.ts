import type { HostState, ReleaseMeta } from '../../../src/host/types.js';
import { batchSize, newestBad, newReleaseId, pickRollbackTarget, planBatches, planPrune } from '../../../src/rollout/plan.js';

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `web${i + 1}`);

describe('planBatches', () => {
  it.each([
    [4, 1, '25%', [['web1'], ['web2'], ['web3'], ['web4']]],
    [4, 1, '50%', [['web1'], ['web2', 'web3'], ['web4']]],
    [4, 0, 2, [['web1', 'web2'], ['web3', 'web4']]],
    [3, 1, '100%', [['web1'], ['web2', 'web3']]],
    [2, 5, 1, [['web1', 'web2']]],
    [10, 2, '10%', [['web1', 'web2'], ['web3'], ['web4'], ['web5'], ['web6'], ['web7'], ['web8'], ['web9'], ['web10']]],
  ] as const)('%i hosts, canary %i, maxParallel %s', (n, canary, maxParallel, expected) => {
    expect(planBatches(hosts(n), { canary, maxParallel: maxParallel as never })).toEqual(expected);
  });

  it('rounds percentages down but never below one host', () => {
    expect(batchSize('25%', 3)).toBe(1);
    expect(batchSize('25%', 8)).toBe(2);
    expect(batchSize('1%', 5)).toBe(1);
    expect(batchSize(50, 3)).toBe(3);
  });
});

const meta = (id: string, state: ReleaseMeta['state']): ReleaseMeta => ({ id, state, createdAt: '', by: '', revision: null });
const host = (current: string | null, releases: ReleaseMeta[]): HostState => ({
  current,
  releases,
  lock: null,
  service: { active: 'active', sub: 'running', mainPid: 1, restarts: 0, since: null, workers: 2 },
});

describe('pickRollbackTarget', () => {
  const r = ['20261121T000000Z', '20261122T000000Z', '20261123T000000Z'] as const;
  it('picks the newest good release older than current, present on every host', () => {
    const fleet = new Map([
      ['web1', host(r[2], [meta(r[0], 'good'), meta(r[1], 'good'), meta(r[2], 'good')])],
      ['web2', host(r[2], [meta(r[0], 'good'), meta(r[2], 'good')])],
    ]);
    expect(pickRollbackTarget(fleet, 'production')).toBe(r[0]);
  });
  it('looks past the newest current when hosts disagree', () => {
    const fleet = new Map([
      ['web1', host(r[2], [meta(r[0], 'good'), meta(r[1], 'good'), meta(r[2], 'good')])],
      ['web2', host(r[1], [meta(r[0], 'good'), meta(r[1], 'good'), meta(r[2], 'good')])],
    ]);
    expect(pickRollbackTarget(fleet, 'production')).toBe(r[1]);
  });
  it('fails with a hint when there is nothing to go back to', () => {
    const fleet = new Map([['web1', host(r[0], [meta(r[0], 'good')])]]);
    expect(() => pickRollbackTarget(fleet, 'production')).toThrow(/no good release older than 20261121T000000Z/);
    expect(() => pickRollbackTarget(fleet, 'production')).toThrow(
      expect.objectContaining({ hint: 'run `shipit releases production` and pick one with `shipit rollback production --to <id>`' }) as never,
    );
  });
  it('says that no host runs anything when none does, not that there is no release older than "the current one"', () => {
    const fleet = new Map([
      ['web1', host(null, [])],
      ['web2', host(null, [meta(r[0], 'interrupted')])],
    ]);
    expect(() => pickRollbackTarget(fleet, 'production')).toThrow(new Error('nothing to roll back: no host runs a release (web1, web2)'));
    expect(() => pickRollbackTarget(fleet, 'production')).toThrow(expect.objectContaining({ exitCode: 2, hint: '`shipit deploy production` makes the first release; `shipit releases production` lists what the hosts have' }) as never);
  });
  it('refuses a bad --to', () => {
    const fleet = new Map([['web1', host(r[1], [meta(r[0], 'bad'), meta(r[1], 'good')])]]);
    expect(() => pickRollbackTarget(fleet, 'production', r[0])).toThrow(/marked bad on web1/);
  });
  it('refuses a --to some host lacks, naming the environment in the command to run', () => {
    const fleet = new Map([['web1', host(r[1], [meta(r[0], 'good'), meta(r[1], 'good')])], ['web2', host(r[1], [meta(r[1], 'good')])]]);
    expect(() => pickRollbackTarget(fleet, 'staging', r[0])).toThrow(
      expect.objectContaining({ message: `release ${r[0]} is not present on web2`, hint: 'run `shipit releases staging` to see which releases every host has' }) as never,
    );
  });
});

describe('planPrune', () => {
  it('keeps the newest N non-bad, the current, the last good and the last bad', () => {
    const releases = [
      meta('01', 'good'),
      meta('02', 'good'),
      meta('03', 'bad'),
      meta('04', 'good'),
      meta('05', 'bad'),
      meta('06', 'bad'),
      meta('07', 'staged'),
    ];
    expect(planPrune(releases, '02', 2).sort()).toEqual(['01', '03', '05']);
  });
  it('with the fleet\'s newest bad release: keeps that one, not an older bad one only this host still has', () => {
    // web3 missed the mark of 06 (unreachable at that finish): 06 is staged there, 03 its newest bad.
    const web3 = [meta('01', 'good'), meta('02', 'good'), meta('03', 'bad'), meta('04', 'good'), meta('06', 'staged')];
    const web2 = [meta('01', 'good'), meta('02', 'good'), meta('04', 'good'), meta('06', 'bad')];
    const lastBad = newestBad([web2, web3]);
    expect(lastBad).toBe('06');
    expect(planPrune(web3, '04', 2, lastBad).sort()).toEqual(['01', '02', '03']);
    expect(planPrune(web3, '04', 2).sort()).toEqual(['01', '02']);
    expect(planPrune(web2, '04', 2, lastBad).sort()).toEqual(['01']);
    expect(newestBad([web3.filter((r) => r.state !== 'bad')])).toBeUndefined();
  });

  it('never prunes the current even beyond keep', () => {
    expect(planPrune([meta('01', 'good'), meta('02', 'good'), meta('03', 'good')], '01', 1)).toEqual(['02']);
  });
});

describe('newReleaseId', () => {
  it('sorts by time and avoids collisions', () => {
    const now = new Date('2026-11-25T13:05:01.123Z');
    expect(newReleaseId(now, new Set())).toBe('20261125T130501Z');
    expect(newReleaseId(now, new Set(['20261125T130501Z']))).toBe('20261125T130501Z-02');
    expect(newReleaseId(now, new Set(['20261125T130501Z', '20261125T130501Z-02']))).toBe('20261125T130501Z-03');
  });

  it('suffixes sort in time order as strings, up to -99, then the next second', () => {
    const now = new Date('2026-11-25T13:05:01.999Z');
    const existing = new Set<string>();
    const made: string[] = [];
    for (let i = 0; i < 101; i++) {
      const id = newReleaseId(now, existing);
      existing.add(id);
      made.push(id);
    }
    expect(made.slice(0, 3)).toEqual(['20261125T130501Z', '20261125T130501Z-02', '20261125T130501Z-03']);
    expect(made.slice(8, 11)).toEqual(['20261125T130501Z-09', '20261125T130501Z-10', '20261125T130501Z-11']);
    expect(made.slice(98)).toEqual(['20261125T130501Z-99', '20261125T130502Z', '20261125T130502Z-02']);
    expect([...made].sort()).toEqual(made);
  });

  it('with `after` (the id taken while the release waited for the lock): later than it, even from a clock behind', () => {
    const taken = '20261125T130501Z';
    expect(newReleaseId(new Date('2026-11-25T13:05:01.500Z'), new Set([taken]), taken)).toBe('20261125T130501Z-02');
    expect(newReleaseId(new Date('2026-11-25T13:04:58Z'), new Set([taken]), taken)).toBe('20261125T130501Z-02');
    expect(newReleaseId(new Date('2026-11-25T13:04:58Z'), new Set([taken, `${taken}-02`]), `${taken}-02`)).toBe('20261125T130501Z-03');
    // A clock already past it: the id of now, as usual.
    expect(newReleaseId(new Date('2026-11-25T13:05:07Z'), new Set([taken]), taken)).toBe('20261125T130507Z');
  });
});
