// The prerequisite "the app's units serve no other deployTo in use" (two environments of one app on a host), run
// by /bin/sh against unit files and deploy directories written here.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedConfig } from '../../../src/config/types.js';
import { prerequisites } from '../../../src/build/release.js';
import { PREREQ_OUT } from '../../../src/remote/scripts.js';

function unitsCheck(app: string, deployTo: string) {
  const config = { app, deployTo, server: { port: 8000, bind: '0.0.0.0', preset: 'command', module: 'serve' } } as unknown as ResolvedConfig;
  const found = prerequisites(config).find((p) => p.conflict === true);
  if (found === undefined) throw new Error('no units prerequisite');
  return found;
}

describe('the prerequisite "the app\'s units are this deployTo\'s"', () => {
  let root: string;
  let etc: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'shipit-units-own-'));
    etc = join(root, 'etc');
    mkdirSync(etc);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** `shop.service` and `shop.socket` as a deploy to `deployTo` renders them (the lines the check reads). */
  const installed = (deployTo: string, listen = 'ListenStream=8431', first = '# shop.service, rendered by shipit from units/gunicorn.service.tmpl: edits on the host are replaced by the') => {
    writeFileSync(join(etc, 'shop.service'), `${first}\n# next deploy. Gunicorn serving app:app from ${deployTo}/current.\n[Service]\nWorkingDirectory=${deployTo}/current\nEnvironmentFile=-${deployTo}/shared/env\n`);
    writeFileSync(join(etc, 'shop.socket'), `# shop.socket, rendered by shipit from units/socket.tmpl: edits on the host are replaced by the next deploy.\n[Socket]\n${listen}\nBacklog=4096\n`);
  };
  const release = (deployTo: string, id: string) => mkdirSync(join(deployTo, 'releases', id), { recursive: true });

  /** The check's exit code and output for this app deployed to `deployTo`. */
  const check = (deployTo: string) => {
    const text = unitsCheck('shop', deployTo).check.replaceAll('/etc/systemd/system/', `${etc}/`);
    const r = spawnSync('/bin/sh', ['-c', `set -u; D=${deployTo}; A=shop; S="$D/.shipit"; ( ${text} )`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return { code: r.status, out: r.stdout };
  };

  it('passes on a host without the units, and where they serve this deployTo', () => {
    const production = join(root, 'srv/shop');
    expect(check(production)).toEqual({ code: 0, out: '' });
    installed(production);
    release(production, '20261205T010101Z');
    expect(check(production)).toEqual({ code: 0, out: '' });
  });

  it("refuses (exit 2) units that serve another deployTo holding releases, naming it and the socket's port", () => {
    const production = join(root, 'srv/shop');
    installed(production);
    release(production, '20261205T010101Z');
    expect(check(join(root, 'srv/shop-staging'))).toEqual({ code: 2, out: `${production} (port 8431)` });
    installed(production, 'ListenStream=127.0.0.1:8432');
    expect(check(join(root, 'srv/shop-staging'))).toEqual({ code: 2, out: `${production} (port 8432)` });
    installed(production, 'ListenStream=[::]:8433');
    expect(check(join(root, 'srv/shop-staging'))).toEqual({ code: 2, out: `${production} (port 8433)` });
  });

  it('takes an old deployTo whose releases are all gone as free (the app moved), and one that no longer exists', () => {
    const old = join(root, 'srv/old-shop');
    installed(old);
    expect(check(join(root, 'srv/shop'))).toEqual({ code: 0, out: '' });
    mkdirSync(join(old, 'releases'), { recursive: true });
    mkdirSync(join(old, 'shared'), { recursive: true });
    expect(check(join(root, 'srv/shop'))).toEqual({ code: 0, out: '' });
    release(old, '20261205T010101Z');
    expect(check(join(root, 'srv/shop'))).toMatchObject({ code: 2 });
  });

  it("leaves units shipit did not write to the unit-name prerequisite (an admin's shop.service is not read)", () => {
    const other = join(root, 'opt/shop');
    installed(other, 'ListenStream=8431', '[Unit]');
    release(other, 'v1');
    expect(check(join(root, 'srv/shop'))).toEqual({ code: 0, out: '' });
  });

  it('says which host directory, what to do, and is a conflict (exit 2), not a missing prerequisite', () => {
    const p = unitsCheck('shop', '/srv/shop-staging');
    expect(p.conflict).toBe(true);
    expect(p.messages?.[2]).toBe(
      `shop.service and shop.socket on this host serve ${PREREQ_OUT}, another deployTo of shop that holds releases (another environment or config with app 'shop'): ` +
        "deploying /srv/shop-staging would take them over from it. Give each environment on shared hosts its own `app` (e.g. 'shop-staging'; deployTo defaults to /srv/<app>), " +
        'or take the other one off first (`shipit remove <its environment> --yes`); if shop moved to /srv/shop-staging from there, delete the releases left in that directory',
    );
  });
});
