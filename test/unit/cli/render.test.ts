import { report } from '../../../src/cli/main.js';
import { formatStatusTable, statusNotes, statusRows, type HostStatus } from '../../../src/cli/commands/status.js';
import type { UnreachableHost } from '../../../src/cli/unreachable.js';
import { JsonRenderer, PlainRenderer, pickRenderMode } from '../../../src/cli/render/renderer.js';
import { ShipitError } from '../../../src/lib/errors.js';

const at = () => new Date('2026-11-25T13:00:00.000Z');

describe('renderers', () => {
  it('picks listr2 only on a TTY outside CI', () => {
    expect(pickRenderMode({}, { isTTY: true }, {})).toBe('tty');
    expect(pickRenderMode({}, { isTTY: true }, { CI: 'true' })).toBe('plain');
    expect(pickRenderMode({}, { isTTY: false }, {})).toBe('plain');
    expect(pickRenderMode({ json: true }, { isTTY: true }, {})).toBe('json');
  });

  it('prints plain timestamped lines prefixed with the host', () => {
    const lines: string[] = [];
    const r = new PlainRenderer((l) => lines.push(l), at);
    r.emit({ type: 'host.ready', host: 'web1', release: 'r2', durationMs: 6200 });
    r.emit({ type: 'batch.started', batch: 1, of: 2, hosts: ['web1'] });
    expect(lines).toEqual(['2026-11-25T13:00:00.000Z web1       ready on r2 (6.2s)', '2026-11-25T13:00:00.000Z batch 1/2: web1']);
  });

  it("says how the rollout ended in words, not the result's id (failed-restored read as jargon in a trial's CI log)", () => {
    const lines: string[] = [];
    const r = new PlainRenderer((l) => lines.push(l), at);
    for (const result of ['success', 'failed-restored', 'failed-inconsistent'] as const) r.emit({ type: 'rollout.finished', result, release: 'r2', durationMs: 20_700, hosts: {} });
    expect(lines).toEqual([
      '2026-11-25T13:00:00.000Z rollout succeeded in 20.7s',
      '2026-11-25T13:00:00.000Z rollout failed, every touched host restored, in 20.7s',
      '2026-11-25T13:00:00.000Z rollout failed, the fleet may be inconsistent, in 20.7s',
    ]);
  });

  it("says the rollout's end once: by how it ended, not again as the rollout phase's end", () => {
    const lines: string[] = [];
    const r = new PlainRenderer((l) => lines.push(l), at);
    r.emit({ type: 'rollout.finished', result: 'success', release: 'r2', durationMs: 9213, hosts: {} });
    r.emit({ type: 'phase.finished', phase: 'rollout', durationMs: 9213 });
    r.emit({ type: 'phase.finished', phase: 'finish', durationMs: 12 });
    expect(lines).toEqual(['2026-11-25T13:00:00.000Z rollout succeeded in 9.213s', '2026-11-25T13:00:00.000Z finish done in 12ms']);
  });

  it('says a host staged with its lock instead of the (empty) prepare time', () => {
    const lines: string[] = [];
    const r = new PlainRenderer((l) => lines.push(l), at);
    r.emit({ type: 'host.prepared', host: 'web1', filesSent: 1, filesReused: 203, bytesSent: 2048, durationMs: 0, withLock: true });
    r.emit({ type: 'host.prepared', host: 'web2', filesSent: 1, filesReused: 203, bytesSent: 2048, durationMs: 380 });
    expect(lines).toEqual([
      '2026-11-25T13:00:00.000Z web1       staged: 1 files sent, 203 reused, 2048 B on the wire (with the lock)',
      '2026-11-25T13:00:00.000Z web2       staged: 1 files sent, 203 reused, 2048 B on the wire (380ms)',
    ]);
  });

  it('says in words that a host ran no release before, never "(nothing)"; --json keeps null', () => {
    const lines: string[] = [];
    const r = new PlainRenderer((l) => lines.push(l), at);
    const events = [
      { type: 'host.activating', host: 'web1', release: 'r1', previous: null },
      { type: 'host.activating', host: 'web1', release: 'r2', previous: 'r1' },
      { type: 'host.activating', host: 'web1', release: null, previous: 'r1' },
      { type: 'host.reverted', host: 'web1', release: null },
      { type: 'host.revert_failed', host: 'web1', release: null, error: 'web1: lost the connection' },
    ] as const;
    for (const e of events) r.emit(e);
    expect(lines.map((l) => l.slice('2026-11-25T13:00:00.000Z web1       '.length))).toEqual([
      'switching to r1 (first release), restarting',
      'switching r1 → r2, restarting',
      'stopping (it ran no release before)',
      'reverted: no release running, as before',
      'REVERT FAILED (stopping it: it ran no release before): lost the connection',
    ]);
    const out: string[] = [];
    const json = new JsonRenderer((l) => out.push(l), () => {}, at);
    json.emit(events[0]);
    json.emit(events[3]);
    expect(out.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([{ previous: null }, { release: null }]);
  });

  it('a host\'s failure does not name the host again after the host column (SshHost errors start with it)', () => {
    const lines: string[] = [];
    const r = new PlainRenderer((l) => lines.push(l), at);
    r.emit({ type: 'host.prepare_failed', host: 'web2', error: 'web2: stage failed (exit 1): tar: short read' });
    r.emit({ type: 'host.failed', host: 'web2', release: 'r2', error: 'web2: activate failed (exit 1)' });
    r.emit({ type: 'host.revert_failed', host: 'web2', release: 'r1', error: 'web2: lost the connection' });
    // Another host's name at the start is information, and stays.
    r.emit({ type: 'host.failed', host: 'web3', release: 'r2', error: 'web2: lost the connection' });
    expect(lines).toEqual([
      '2026-11-25T13:00:00.000Z web2       prepare failed: stage failed (exit 1): tar: short read',
      '2026-11-25T13:00:00.000Z web2       FAILED on r2: activate failed (exit 1)',
      '2026-11-25T13:00:00.000Z web2       REVERT FAILED (to r1): lost the connection',
      '2026-11-25T13:00:00.000Z web3       FAILED on r2: web2: lost the connection',
    ]);
  });

  it('prints one JSON object per event on stdout and info elsewhere', () => {
    const out: string[] = [];
    const err: string[] = [];
    const r = new JsonRenderer((l) => out.push(l), (l) => err.push(l), at);
    r.emit({ type: 'host.locked', host: 'web1' });
    r.info('summary');
    expect(out.map((l) => JSON.parse(l))).toEqual([{ ts: '2026-11-25T13:00:00.000Z', type: 'host.locked', host: 'web1' }]);
    expect(err).toEqual(['summary']);
  });
});

describe('report', () => {
  it('prints the message and hint once and returns the exit code', () => {
    let text = '';
    const code = report(new ShipitError('LOCK_HELD', 'web1: held by bob', { hint: 'wait' }), (t) => (text += t));
    expect(code).toBe(4);
    expect(text).toBe('error: web1: held by bob\nhint: wait\n');
  });
});

describe('status table', () => {
  it('aligns columns', () => {
    const table = formatStatusTable([
      { host: 'web1', unreachable: null, current: 'r2', unit: 'active/running', since: 'then', workers: 2, ready: 200, readyError: null, lock: null, state: null },
      { host: 'web22', unreachable: null, current: null, unit: 'inactive/dead', since: null, workers: 0, ready: null, readyError: 'refused', lock: 'bob', state: null },
    ]);
    expect(table).toContain('web22  not deployed  inactive/dead   -      0        -      bob');
    expect(table.split('\n')[0]).toBe('HOST   RELEASE       UNIT            SINCE  WORKERS  READY  LOCK');
    expect(table).toContain('web1   r2            active/running  then   2        200    -');
  });

  it('a host never deployed to says so, not that its readiness probe was refused', () => {
    const row = (over: Partial<HostStatus>): HostStatus => ({ host: 'web1', unreachable: null, current: null, unit: 'inactive/dead', since: null, workers: 0, ready: null, readyError: 'refused', lock: null, state: null, ...over });
    const table = formatStatusTable([row({}), row({ host: 'web2', current: 'r2', unit: 'failed/failed' })]);
    expect(table).toContain('web1  not deployed  inactive/dead  -      0        -             -');
    expect(table).toContain('web2  r2            failed/failed  -      0        no (refused)  -');
  });

  it('keeps every host in config order; an unreachable one says why from the RELEASE column on', () => {
    const web1: HostStatus = { host: 'web1', unreachable: null, current: 'r2', unit: 'active/running', since: 'then', workers: 2, ready: 200, readyError: null, lock: null, state: null };
    const error = new ShipitError('CONNECT_FAILED', 'Cannot connect to deploy@ghost (10.213.37.250:22): no SSH handshake within 3000 ms', { hint: 'check the host' });
    const ghost: UnreachableHost = { host: 'ghost', reason: error.message, error };
    const rows = statusRows(['ghost', 'web1'], new Map([['web1', web1]]), [ghost]);
    expect(rows.map((r) => [r.host, r.unreachable])).toEqual([
      ['ghost', error.message],
      ['web1', null],
    ]);
    expect(rows[0]).toMatchObject({ current: null, unit: null, workers: null, ready: null, lock: null });
    expect(formatStatusTable(rows).split('\n')).toEqual([
      'HOST   RELEASE  UNIT            SINCE  WORKERS  READY  LOCK',
      'ghost  unreachable: Cannot connect to deploy@ghost (10.213.37.250:22): no SSH handshake within 3000 ms',
      'web1   r2       active/running  then   2        200    -',
      '',
    ]);
  });
});

describe('status after a deploy was killed mid-rollout', () => {
  const lock = 'root@vm (pid 10343) since 2026-12-04T19:59:14.501Z, deploying r2';
  const row = (host: string, current: string, over: Partial<HostStatus> = {}): HostStatus => ({ host, unreachable: null, current, unit: 'active/running', since: 'then', workers: 2, ready: 200, readyError: null, lock, lockStale: true, state: null, ...over });
  const rows = [row('web1', 'r2'), row('web2', 'r2'), row('web3', 'r1')];

  it('marks the dead run’s lock stale in the LOCK column', () => {
    expect(formatStatusTable(rows)).toContain(`web3  r1       active/running  then   2        200    ${lock} (stale)`);
    expect(formatStatusTable([row('web1', 'r2', { lockStale: false })])).not.toContain('(stale)');
  });

  it('says under the table that hosts disagree, and what removes the stale lock', () => {
    expect(statusNotes(rows, 'production')).toEqual([
      'hosts run different releases: web1, web2 on r2; web3 on r1',
      'the lock on web1, web2, web3 is stale: the run that took it is gone (killed, or cut off before it could unlock); `shipit deploy production` or `shipit rollback production` removes it and moves every host to one release',
    ]);
  });

  it('names a host that runs no release as not deployed', () => {
    const calm = [row('web1', 'r2', { lock: null, lockStale: false }), { ...row('web2', 'r2', { lock: null, lockStale: false }), current: null }];
    expect(statusNotes(calm, 'production')).toEqual(['hosts run different releases: web1 on r2; web2 not deployed']);
  });

  it('says nothing when every host runs one release and no lock is stale; unreachable hosts do not count', () => {
    const calm = [row('web1', 'r2', { lock: null, lockStale: false }), row('web2', 'r2', { lock: null, lockStale: false })];
    expect(statusNotes(calm, 'production')).toEqual([]);
    expect(statusNotes([...calm, { ...row('web3', 'r1'), unreachable: 'timed out', current: null, lockStale: false }], 'production')).toEqual([]);
  });
});

describe("status of an app whose deployTo holds another app's releases", () => {
  it('says so instead of advising a deploy or rollback that would be refused', () => {
    const state = { current: 'r9', releases: [], lock: null, foreignUnit: 'api.service', service: { active: 'active', sub: 'running', mainPid: 1, restarts: 0, since: null, workers: 2 } };
    const rows: HostStatus[] = [{ host: 'web1', unreachable: null, current: 'r9', runs: 'r1', unit: 'active/running', since: 'then', workers: 2, ready: 200, readyError: null, lock: null, state }];
    expect(statusNotes(rows, 'production')).toEqual([
      "web1: this app's deployTo holds another app's releases (api.service): the RELEASE column is that app's; give this app its own deployTo (the default is /srv/<app>)",
    ]);
  });
});

describe("status of an environment whose units serve another environment's deployTo (two environments of one app on a host)", () => {
  it("says whose they are and what to do, instead of advising a restart for a 'runs' that is the other's release", () => {
    const state = { current: null, releases: [], lock: null, unitsElsewhere: { deployTo: '/srv/shop', port: '8430' }, service: { active: 'active', sub: 'running', mainPid: 1, restarts: 0, since: null, workers: 1 } };
    const rows: HostStatus[] = [{ host: 'web2', unreachable: null, current: null, runs: 'r1', unit: 'active/running', since: 'then', workers: 1, ready: null, readyError: null, lock: null, state }];
    expect(statusNotes(rows, 'staging')).toEqual([
      "web2: the app's units serve /srv/shop (port 8430), another environment's deployTo, not this one's: the UNIT, SINCE, WORKERS and READY columns are that environment's; give each environment on shared hosts its own `app` (deploy and rollback refuse until then)",
    ]);
  });
});

describe('status of a host whose `current` was repointed by hand without a restart', () => {
  const row = (host: string, current: string, runs: string | null): HostStatus => ({ host, unreachable: null, current, runs, unit: 'active/running', since: 'then', workers: 2, ready: 200, readyError: null, lock: null, state: null });

  it('shows what the service runs beside what `current` says, and says so under the table', () => {
    const rows = [row('web1', 'r2', null), row('web2', 'r1', 'r2')];
    expect(formatStatusTable(rows)).toContain('web2  r1 (runs r2)  active/running');
    expect(statusNotes(rows, 'production')).toEqual([
      'hosts run different releases: web1 on r2; web2 on r1',
      'web2: `current` points at r1 but the service still runs r2 (`current` was changed without a restart): `shipit deploy production` or `shipit rollback production` restarts it on the release they move it to',
    ]);
  });
});

describe('isDeadLocalRun', () => {
  it('is true only for a run of this user on this machine whose pid is gone', async () => {
    const { isDeadLocalRun } = await import('../../../src/cli/session.js');
    const { whoAmI } = await import('../../../src/cli/identity.js');
    const lock = { by: whoAmI(), pid: 2 ** 22 + 12345, at: '', release: null, message: '', token: 't' };
    expect(isDeadLocalRun(lock)).toBe(true);
    expect(isDeadLocalRun({ ...lock, pid: process.pid })).toBe(false);
    expect(isDeadLocalRun({ ...lock, pid: 1 })).toBe(false);
    expect(isDeadLocalRun({ ...lock, pid: 0 })).toBe(false);
    expect(isDeadLocalRun({ ...lock, by: 'bob@elsewhere' })).toBe(false);
  });
});
