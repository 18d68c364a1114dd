// removalScript run by /bin/sh against deploy directories written here. The app's name is one no unit of this
// machine has, so the script finds no unit file of its own and never calls systemctl to change anything.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRemoval } from '../../../src/host/parse.js';
import { removalScript } from '../../../src/remote/remove-scripts.js';

const APP = 'shipit-remove-unit-test';
const UNITS = [`${APP}.socket`, `${APP}.service`];
const TOKEN = 'abc123';

let root: string;
let D: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'shipit-remove-'));
  D = join(root, APP);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function run(token: string | null, deployTo = D, env: Record<string, string> = {}) {
  const r = spawnSync('/bin/sh', ['-c', removalScript({ deployTo, app: APP, serviceUser: APP }, UNITS, token)], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stderr: r.stderr, report: parseRemoval(r.stdout, token !== null) };
}

/** A deploy directory as a deploy leaves it, with the lock `token` holds (null: no lock). */
function deployed(token: string | null = TOKEN, app = APP) {
  const id = '20261204T101010Z';
  mkdirSync(join(D, 'releases', id), { recursive: true });
  mkdirSync(join(D, '.shipit/releases', id, 'units'), { recursive: true });
  writeFileSync(join(D, '.shipit/releases', id, 'units', `${app}.service`), '');
  mkdirSync(join(D, 'shared'));
  symlinkSync(`releases/${id}`, join(D, 'current'));
  if (token !== null) {
    mkdirSync(join(D, '.shipit/lock'));
    writeFileSync(join(D, '.shipit/lock/info.json'), JSON.stringify({ by: 'me@here', pid: 1, at: 'now', release: null, message: '', token }));
  }
}

describe('removalScript, read-only', () => {
  it('says what is there: the directory, its entries, releases, current, the lock', () => {
    deployed();
    const { code, report } = run(null);
    expect(code).toBe(0);
    expect(report).toMatchObject({ dir: 'directory', extra: [], current: '20261204T101010Z', releases: 1, units: [] });
    expect(report.entries.sort()).toEqual(['.shipit', 'current', 'releases', 'shared']);
    expect(report.lock?.token).toBe(TOKEN);
    expect(existsSync(join(D, 'current'))).toBe(true);
  });

  it("names the service's state directory (/var/lib/<app>) when there is one, and never touches it", () => {
    expect(run(null).report.state).toBeUndefined();
    const state = join('/var/lib', APP);
    mkdirSync(state, { recursive: true });
    try {
      deployed();
      expect(run(null).report.state).toBe(state);
      expect(run(TOKEN).report).toMatchObject({ removed: true, state });
      expect(existsSync(state)).toBe(true);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('names the service user when it exists and is named after the app (shipit\'s default), never one the config names', () => {
    const read = (app: string, serviceUser: string) =>
      parseRemoval(spawnSync('/bin/sh', ['-c', removalScript({ deployTo: D, app, serviceUser }, [`${app}.socket`, `${app}.service`], null)], { encoding: 'utf8' }).stdout, false);
    // `root` stands for a user that exists: an app named so is only read here, never removed.
    expect(read('root', 'root').user).toBe('root');
    expect(read(APP, 'root').user).toBeUndefined();
    expect(read(APP, APP).user).toBeUndefined();
  });

  it('a host never deployed to: absent', () => {
    expect(run(null).report).toMatchObject({ dir: 'absent', entries: [], releases: 0, current: null });
  });

  it("names entries shipit does not create, and another app's release", () => {
    deployed(null, 'api');
    writeFileSync(join(D, '.env'), 'x');
    mkdirSync(join(D, 'uploads'));
    const { report } = run(null);
    expect(report.extra.sort()).toEqual(['.env', 'uploads']);
    expect(report.foreignUnit).toBe('api.service');
  });

  it("names what shipit did not write in shared/ (uploads kept there the Capistrano way), and refuses the removal for it", () => {
    deployed();
    for (const name of ['env', 'secrets.env']) writeFileSync(join(D, 'shared', name), 'X=1\n');
    mkdirSync(join(D, 'shared/.next'));
    expect(run(null).report.extra).toEqual([]);
    mkdirSync(join(D, 'shared/uploads'));
    expect(run(null).report.extra).toEqual(['shared/uploads']);
    expect(run(TOKEN)).toMatchObject({ code: 3, report: { removed: false } });
    expect(existsSync(join(D, 'shared/uploads'))).toBe(true);
  });
});

describe('removalScript, removing under the lock', () => {
  it('removes the directory when the lock is the run\'s; a second run finds nothing', () => {
    deployed();
    const first = run(TOKEN);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.report.removed).toBe(true);
    expect(existsSync(D)).toBe(false);
    expect(run(null).report.dir).toBe('absent');
  });

  it('refuses (exit 3) and changes nothing: the lock is not the run\'s', () => {
    deployed('someone-else');
    const r = run(TOKEN);
    expect(r.code).toBe(3);
    expect(r.report.removed).toBe(false);
    expect(existsSync(join(D, 'current'))).toBe(true);
  });

  it("refuses a directory holding someone's data, or another app's releases", () => {
    deployed();
    writeFileSync(join(D, 'database.sqlite'), 'precious');
    expect(run(TOKEN)).toMatchObject({ code: 3, report: { removed: false, extra: ['database.sqlite'] } });
    expect(existsSync(join(D, 'database.sqlite'))).toBe(true);
    rmSync(join(D, 'database.sqlite'));
    writeFileSync(join(D, '.shipit/releases/20261204T101010Z/units/api.service'), '');
    expect(run(TOKEN)).toMatchObject({ code: 3, report: { removed: false, foreignUnit: 'api.service' } });
    expect(existsSync(join(D, 'releases'))).toBe(true);
  });

  it('says so and fails (exit 1, no `removed`) when deployTo cannot be deleted entirely', () => {
    deployed();
    // An rm that fails, as one does on a file it may not delete or a filesystem mounted under deployTo.
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'rm'), '#!/bin/sh\necho "rm: cannot remove: Operation not permitted" >&2; exit 1\n', { mode: 0o755 });
    const r = run(TOKEN, D, { PATH: `${bin}:${process.env['PATH'] ?? ''}` });
    expect(r.code).toBe(1);
    expect(r.report.removed).toBe(false);
    expect(r.stderr).toContain(`the units are removed, but not all of ${D} (see above)`);
  });

  it('never follows a symlinked deployTo: refused, what it points to untouched', () => {
    deployed();
    const link = join(root, 'link');
    symlinkSync(D, link);
    expect(run(TOKEN, link)).toMatchObject({ code: 3, report: { dir: 'symlink', removed: false } });
    expect(existsSync(join(D, 'current'))).toBe(true);
    expect(existsSync(link)).toBe(true);
  });

  it('refuses unit names that are not the app\'s, and a token that could escape its quotes', () => {
    expect(() => removalScript({ deployTo: '/srv/a', app: 'a', serviceUser: 'a' }, ['ssh.service'], null)).toThrow('invalid unit name');
    expect(() => removalScript({ deployTo: '/srv/a', app: 'a', serviceUser: 'a' }, ['a.service'], "x'; rm -rf /; '")).toThrow('invalid lock token');
  });

  it('stops, disables and deletes only the units it found to be shipit\'s, then deletes deployTo last', () => {
    const text = removalScript({ deployTo: '/srv/hello', app: 'hello', serviceUser: 'hello' }, ['hello.socket', 'hello.service'], TOKEN);
    const tail = text.slice(text.indexOf('info=;'));
    expect(tail).toBe(
      [
        'info=; IFS= read -r info 2> /dev/null < "$S/lock/info.json" || :',
        `case "$info" in *'"token":"${TOKEN}"'*) mine=1 ;; *) mine= ;; esac`,
        '[ "$d" = directory ] && [ -z "$extra" ] && [ -z "$foreign" ] && [ -n "$mine" ] || { echo refused; exit 3; }',
        'if [ -n "$ours" ]; then',
        '  systemctl disable --now --quiet $ours 2> /dev/null || systemctl stop $ours || { echo "could not stop$ours: nothing was removed" >&2; exit 1; }',
        '  for n in $ours; do rm -f "/etc/systemd/system/$n" "/etc/systemd/system"/*.wants/"$n"; done',
        '  systemctl daemon-reload',
        '  systemctl reset-failed $ours 2> /dev/null || true',
        'fi',
        'rm -rf --one-file-system "$D" || { echo "the units are removed, but not all of $D (see above): run it again, or remove what is left by hand" >&2; exit 1; }',
        'echo removed',
      ].join('\n'),
    );
    expect(text).toContain("names='hello.socket hello.service'");
    // Units serving another environment's deployTo (UNITS_ELSEWHERE_LINES) are never among those stopped.
    expect(text).toContain('case "$first" in *", rendered by shipit from "*) if [ -n "$elsewhere" ]; then o=elsewhere; else o=shipit; ours="$ours $n"; fi ;; *) o=other ;; esac');
  });
});
