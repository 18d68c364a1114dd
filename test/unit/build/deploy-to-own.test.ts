// The prerequisite "deployTo holds no other app's releases", run by /bin/sh against a deploy directory written here.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedConfig } from '../../../src/config/types.js';
import { prerequisites } from '../../../src/build/release.js';

function ownCheck(app: string, deployTo: string) {
  const config = { app, deployTo, server: { port: 8000, bind: '0.0.0.0', preset: 'command', module: 'serve' } } as unknown as ResolvedConfig;
  const found = prerequisites(config).find((p) => p.message.startsWith(`${deployTo} holds another app's releases`));
  if (found === undefined) throw new Error('no deployTo prerequisite');
  return found;
}

describe('the prerequisite "deployTo is this app\'s"', () => {
  let D: string;
  beforeEach(() => {
    D = mkdtempSync(join(tmpdir(), 'shipit-own-'));
  });
  afterEach(() => rmSync(D, { recursive: true, force: true }));

  /** A release of `app` under .shipit/releases/<id>/units, as finalize writes it; `app` null: its units dir, empty. */
  const release = (id: string, app: string | null) => {
    mkdirSync(join(D, '.shipit/releases', id, 'units'), { recursive: true });
    if (app !== null) for (const kind of ['service', 'socket']) writeFileSync(join(D, '.shipit/releases', id, 'units', `${app}.${kind}`), '');
  };
  const own = (app: string) => {
    const r = spawnSync('/bin/sh', ['-c', `D=${D}; A=${app}; S="$D/.shipit"; ( ${ownCheck(app, D).check} )`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return r.status === 0;
  };

  it('accepts a directory never deployed to, and one holding only this app\'s releases', () => {
    expect(own('api')).toBe(true);
    rmSync(D, { recursive: true });
    expect(own('api')).toBe(true);
    mkdirSync(D);
    release('20261204T101010Z', 'api');
    release('20261204T111111Z', 'api');
    expect(own('api')).toBe(true);
  });

  it("refuses one holding another app's release, also an app whose name this one's starts with or extends", () => {
    release('20261204T101010Z', 'api');
    expect(own('api-worker')).toBe(false);
    expect(own('ap')).toBe(false);
    release('20261204T111111Z', 'api-worker');
    expect(own('api')).toBe(false);
  });

  it('does not count a stage of this app that died before writing its units', () => {
    release('20261204T101010Z', 'api');
    release('20261204T111111Z.tmp', null);
    expect(own('api')).toBe(true);
  });

  it('is a conflict of the config with the host (exit 2, as rollback and remove refuse it), not a part to install (exit 5)', () => {
    expect(ownCheck('api', '/srv/api').conflict).toBe(true);
  });

  it('says what to do, naming the directory and the app', () => {
    expect(ownCheck('api-worker', '/srv/api').message).toBe(
      "/srv/api holds another app's releases (their units are not api-worker.service): each app needs its own deployTo (the default is /srv/<app>); `ls /srv/api/.shipit/releases/*/units` on the host names that app",
    );
  });
});
