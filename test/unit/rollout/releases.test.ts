import type { HostState, ReleaseMeta } from '../../../src/host/types.js';
import { buildReleaseReport, formatReleaseTable } from '../../../src/rollout/releases.js';

const meta = (id: string, state: ReleaseMeta['state']): ReleaseMeta => ({ id, createdAt: `${id.slice(0, 4)}-11-25T13:00:00.000Z`, by: 'alice@laptop', revision: 'abc123', state });
const host = (current: string | null, ...releases: ReleaseMeta[]): HostState => ({
  current,
  releases,
  lock: null,
  service: { active: 'active', sub: 'running', mainPid: 1, restarts: 0, since: null, workers: 2 },
});

describe('the releases report', () => {
  it('a consistent fleet: current everywhere, older good ones, a bad one; no disagreement', () => {
    const report = buildReleaseReport(
      new Map([
        ['web1', host('r3', meta('r1', 'good'), meta('r2', 'bad'), meta('r3', 'good'))],
        ['web2', host('r3', meta('r1', 'good'), meta('r2', 'bad'), meta('r3', 'good'))],
      ]),
    );
    expect(report.releases.map((r) => [r.id, r.state, r.currentOn, r.presentOn])).toEqual([
      ['r3', 'current', ['web1', 'web2'], ['web1', 'web2']],
      ['r2', 'bad', [], ['web1', 'web2']],
      ['r1', 'good', [], ['web1', 'web2']],
    ]);
    expect(report.disagreements).toEqual([]);
  });

  it('flags hosts on different releases, a release missing on some hosts, states that differ, and staged leftovers', () => {
    const report = buildReleaseReport(
      new Map([
        ['web1', host('r3', meta('r1', 'good'), meta('r3', 'good'), meta('r4', 'staged'))],
        ['web2', host('r1', meta('r1', 'good'), meta('r3', 'bad'), meta('r4', 'staged'))],
        ['web3', host(null, meta('r4', 'staged'))],
      ]),
    );
    expect(Object.fromEntries(report.releases.map((r) => [r.id, r.state]))).toEqual({ r4: 'partial', r3: 'bad', r1: 'partial' });
    expect(report.disagreements).toEqual([
      'hosts run different releases: web1 on r3; web2 on r1; web3 not deployed',
      'release r4 is staged but was never activated on web1, web2, web3 (a deploy running now, or one that was killed)',
      'release r3 is missing on web3 (current on web1)',
      'release r3 is good on web1, bad on web2',
      'release r1 is missing on web3 (current on web2)',
    ]);
  });

  it('a release whose deploy was interrupted (Ctrl-C) and reverted everywhere is "interrupted", not bad, and no disagreement', () => {
    const report = buildReleaseReport(
      new Map([
        ['web1', host('r1', meta('r1', 'good'), meta('r2', 'interrupted'))],
        ['web2', host('r1', meta('r1', 'good'), meta('r2', 'interrupted'))],
      ]),
    );
    expect(report.releases.map((r) => [r.id, r.state])).toEqual([
      ['r2', 'interrupted'],
      ['r1', 'current'],
    ]);
    expect(report.disagreements).toEqual([]);
  });

  it('a current release whose files were removed by hand is still listed, and flagged', () => {
    const report = buildReleaseReport(new Map([['web1', host('r2', meta('r1', 'good'))]]));
    expect(report.releases.map((r) => [r.id, r.state])).toEqual([
      ['r2', 'partial'],
      ['r1', 'good'],
    ]);
    expect(report.disagreements).toContain('release r2 is current on web1 but its files or metadata are gone there');
  });

  it('prints a table, newest first, marking where each release is current', () => {
    const report = buildReleaseReport(
      new Map([
        ['web1', host('2026b', meta('2026a', 'good'), meta('2026b', 'good'))],
        ['web2', host('2026a', meta('2026a', 'good'))],
      ]),
    );
    expect(formatReleaseTable(report)).toBe(
      [
        'RELEASE  STATE    CREATED               BY            REVISION  HOSTS (* = current)',
        '2026b    partial  2026-11-25T13:00:00Z  alice@laptop  abc123    web1*  (missing on web2)',
        '2026a    partial  2026-11-25T13:00:00Z  alice@laptop  abc123    web1 web2*',
        '',
        'hosts disagree:',
        '  ! hosts run different releases: web1 on 2026b; web2 on 2026a',
        '  ! release 2026b is missing on web2 (current on web1)',
        '',
      ].join('\n'),
    );
  });

  it('lists the hosts that could not be read after the table, with why; none at all still prints the header', () => {
    const report = buildReleaseReport(new Map([['web1', host('2026a', meta('2026a', 'good'))]]));
    const ghost = { host: 'ghost', reason: 'Cannot connect to deploy@ghost (10.213.37.250:22): no SSH handshake within 3000 ms' };
    expect(formatReleaseTable(report, [ghost])).toBe(
      [
        'RELEASE  STATE    CREATED               BY            REVISION  HOSTS (* = current)',
        '2026a    current  2026-11-25T13:00:00Z  alice@laptop  abc123    web1*',
        '',
        'hosts unreachable (not in the table):',
        '  ! ghost: Cannot connect to deploy@ghost (10.213.37.250:22): no SSH handshake within 3000 ms',
        '',
      ].join('\n'),
    );
    expect(formatReleaseTable(buildReleaseReport(new Map()), [ghost]).split('\n')).toEqual([
      'RELEASE  STATE  CREATED  BY  REVISION  HOSTS (* = current)',
      '',
      'hosts unreachable (not in the table):',
      `  ! ghost: ${ghost.reason}`,
      '',
    ]);
  });
});
