import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { inline, quote, shellJoin } from '../../../src/remote/quote.js';
import { parseElsewhere } from '../../../src/host/parse.js';
import { removalScript } from '../../../src/remote/remove-scripts.js';
import * as scripts from '../../../src/remote/scripts.js';

const layout = { deployTo: '/srv/hello', app: 'hello', serviceUser: 'hello' };

/** A release on a host layout under `root`: its files' directory (unless `files: false`) and its .shipit entries. */
function fakeRelease(root: string, id: string, entries: { meta?: string; manifest?: string; files?: boolean } = {}): void {
  if (entries.files !== false) mkdirSync(join(root, 'srv/releases', id), { recursive: true });
  mkdirSync(join(root, 'srv/.shipit/releases', id), { recursive: true });
  if (entries.meta !== undefined) writeFileSync(join(root, 'srv/.shipit/releases', id, 'meta.json'), entries.meta);
  if (entries.manifest !== undefined) writeFileSync(join(root, 'srv/.shipit/releases', id, 'manifest.tsv'), entries.manifest);
}

describe('quote', () => {
  it.each([
    ['plain', 'plain'],
    ['', "''"],
    ['/srv/my app', "'/srv/my app'"],
    ["it's", "'it'\\''s'"],
    ['$(rm -rf /)', "'$(rm -rf /)'"],
    ['a\nb', "'a\nb'"],
  ])('%j → %s', (word, expected) => expect(quote(word)).toBe(expected));

  it('joins argv', () => expect(shellJoin(['sudo', '-n', 'sh', '-c', 'echo "$A"'])).toBe(`sudo -n sh -c 'echo "$A"'`));
});

describe('inline (file text written by the shell itself)', () => {
  // Units, metas and env files go through it; run as the host runs it: the script is one `sh -c` argument,
  // passed through sudo by shellJoin.
  const tricky = "# it's a unit\nExecStart=/bin/sh -c 'exec app --workers \"$${WORKERS:-2}\"'\n%h %% \\n \\ `id` $(id)\n-x\n\u00e9\u2713\n\n";
  it.each([['tricky text', tricky], ['empty', ''], ['no trailing newline', 'KEY="v"']])('writes %s byte for byte', (_name, text) => {
    const body = `${inline(text)} > "$1"`;
    const dir = mkdtempSync(join(tmpdir(), 'shipit-inline-'));
    try {
      const r = spawnSync('sh', ['-c', shellJoin(['sh', '-c', body, 'sh', join(dir, 'out')])]);
      expect(r.stderr.toString()).toBe('');
      expect(r.status).toBe(0);
      expect(readFileSync(join(dir, 'out'), 'utf8')).toBe(text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses text with a NUL byte, which no shell argument can carry', () => {
    expect(() => inline('a\0b')).toThrow(/NUL/);
  });
});

describe('remote scripts (the exact text is what runs on the host)', () => {
  it('runs privileged steps directly as root and through sudo -n otherwise', () => {
    expect(scripts.privileged('true', 'root')).toBe('sh -c true');
    expect(scripts.privileged('echo "$D"', 'deploy')).toBe(`sudo -n sh -c 'echo "$D"'`);
  });

  it('locks with an atomic mkdir, then reports the releases under the lock, or the holder (run by /bin/sh)', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-lock-'));
    try {
      const local = { deployTo: join(root, 'srv'), app: 'hello', serviceUser: 'hello' };
      const lock = (info: string) => spawnSync('sh', ['-c', scripts.lockScript(local)], { input: info }).stdout.toString();
      const first = lock('{"by":"alice","token":"t1"}');
      // Nothing deployed yet: no current release, no releases, no manifest. Neither the lock (it is ours, the
      // deployer knows it) nor the service's state (systemctl show: no locked command reads it) is reported.
      expect(first).toBe('acquired\ncurrent\t\n');
      expect(readFileSync(join(root, 'srv/.shipit/lock/info.json'), 'utf8')).toBe('{"by":"alice","token":"t1"}');
      expect(lock('{"by":"bob","token":"t2"}')).toBe('held\n{"by":"alice","token":"t1"}');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a failed first contact leaves the host as it was: unlock removes the empty directories it made, deployTo only when it made it', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-first-'));
    try {
      const local = { deployTo: join(root, 'srv'), app: 'hello', serviceUser: 'hello' };
      const run = (body: string, input = '') => spawnSync('sh', ['-c', body], { input });
      const lockThenUnlock = () => {
        expect(run(scripts.lockScript(local), '{"token":"t1"}').stdout.toString()).toMatch(/^acquired/);
        // What a stage made before the deploy failed and its release was discarded.
        for (const dir of ['srv/releases', 'srv/shared/.next', 'srv/.shipit/releases', 'srv/deps/python']) mkdirSync(join(root, dir), { recursive: true });
        expect(run(scripts.unlockScript(local, 't1', false)).status).toBe(0);
      };
      // deployTo made by the lock: all of it goes.
      lockThenUnlock();
      expect(existsSync(join(root, 'srv'))).toBe(false);
      // deployTo the admin made (with a file of theirs): it stays as it was, with their file.
      mkdirSync(join(root, 'srv'));
      writeFileSync(join(root, 'srv/README'), 'ours\n');
      lockThenUnlock();
      expect(spawnSync('ls', ['-A', join(root, 'srv')]).stdout.toString()).toBe('README\n');
      // A host with a release (a failed deploy over a working one, or a first one whose release failed its gate
      // and is kept, marked bad): nothing is removed.
      fakeRelease(root, 'r1', { meta: '{"id":"r1","state":"bad"}' });
      lockThenUnlock();
      expect(existsSync(join(root, 'srv/.shipit/releases/r1/meta.json'))).toBe(true);
      expect(existsSync(join(root, 'srv/shared/.next'))).toBe(true);
      // Someone else's lock: not released, nothing removed.
      rmSync(join(root, 'srv'), { recursive: true });
      expect(run(scripts.lockScript(local), '{"token":"theirs"}').stdout.toString()).toMatch(/^acquired/);
      expect(run(scripts.unlockScript(local, 't1', false)).status).toBe(3);
      expect(existsSync(join(root, 'srv/.shipit/lock/info.json'))).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('deletes the service user only where the stage noted it added that very user, once, under the lock; never on a forced release or after a release was recorded', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-first-user-'));
    try {
      const local = { deployTo: join(root, 'srv'), app: 'hello', serviceUser: 'hello' };
      // userdel stand-in: says whom it was asked to delete and whether the lock was still there then.
      const bin = join(root, 'bin');
      mkdirSync(bin);
      const calls = join(root, 'userdel.calls');
      writeFileSync(join(bin, 'userdel'), `#!/bin/sh\necho "$1 lock=$([ -d "${local.deployTo}/.shipit/lock" ] && echo held || echo gone)" >> ${calls}\n`, { mode: 0o755 });
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
      const run = (body: string, input = '') => spawnSync('sh', ['-c', body], { input, env });
      const userdels = () => (existsSync(calls) ? readFileSync(calls, 'utf8') : '');
      const marker = join(root, 'srv/.shipit/created-user');
      const lockNoting = (user: string | null) => {
        expect(run(scripts.lockScript(local), '{"token":"t1"}').stdout.toString()).toMatch(/^acquired/);
        if (user !== null) writeFileSync(marker, `${user}\n`);
      };
      // The stage added `hello`: deleted while the lock is still ours, and the marker goes.
      lockNoting('hello');
      expect(run(scripts.unlockScript(local, 't1', false)).status).toBe(0);
      expect(userdels()).toBe('hello lock=held\n');
      expect(existsSync(join(root, 'srv'))).toBe(false);
      // A marker naming another user (serviceUser changed since): not deleted, and the marker goes all the same.
      mkdirSync(join(root, 'srv'));
      lockNoting('old-user');
      expect(run(scripts.unlockScript(local, 't1', false)).status).toBe(0);
      expect(userdels()).toBe('hello lock=held\n');
      expect(existsSync(marker)).toBe(false);
      // Someone else's lock forced open: no cleanup at all (their first deploy may be under way).
      lockNoting('hello');
      expect(run(scripts.unlockScript(local, 'other', true)).status).toBe(0);
      expect(userdels()).toBe('hello lock=held\n');
      expect(existsSync(marker)).toBe(true);
      // A release recorded here: the user ran it, and is never a first contact's to undo.
      expect(run(scripts.recordScript(local, '20261204T101010Z', 'bad', null)).status).toBe(0);
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reports the current release's manifest sha256 with the lock (what lets prepare skip its check)", () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-lock-'));
    try {
      const local = { deployTo: join(root, 'srv'), app: 'hello', serviceUser: 'hello' };
      const manifest = 'a.txt\t0644\t' + 'a'.repeat(64) + '\t4\n';
      // Every release whose files exist is listed, its meta on one line; a meta without files is not.
      fakeRelease(root, 'r1', { manifest, meta: '{"id":"r1",\n"state":"good"}\n' });
      fakeRelease(root, 'r2', { meta: '{"id":"r2","state":"staged"}' });
      fakeRelease(root, 'r9', { meta: '{"id":"r9","state":"good"}', files: false });
      symlinkSync('releases/r1', join(root, 'srv/current'));
      const out = spawnSync('sh', ['-c', scripts.lockScript(local)], { input: '{"token":"t1"}' }).stdout.toString();
      expect(out.split('\n').filter((l) => l.startsWith('release\t'))).toEqual(['release\t{"id":"r1","state":"good"}', 'release\t{"id":"r2","state":"staged"}']);
      expect(out.split('\n')).toContain(`manifest\t${createHash('sha256').update(manifest).digest('hex')}`);
      expect(out.split('\n').filter((l) => /^(current|lock|svc)\t/.test(l))).toEqual(['current\tr1']);
      // No manifest for the current release: no line (the deployer then runs the check).
      rmSync(join(root, 'srv/.shipit/lock'), { recursive: true });
      rmSync(join(root, 'srv/.shipit/releases/r1/manifest.tsv'));
      const without = spawnSync('sh', ['-c', scripts.lockScript(local)], { input: '{"token":"t1"}' }).stdout.toString();
      expect(without).not.toMatch(/^manifest\t/m);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('records, prunes and releases only its own lock in one step (run by /bin/sh)', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-record-'));
    try {
      const local = { deployTo: join(root, 'srv'), app: 'hello', serviceUser: 'hello' };
      for (const r of ['r1', 'r2', 'r3']) fakeRelease(root, r, { meta: `{"id":"${r}","state":"staged"}` });
      symlinkSync('releases/r3', join(root, 'srv/current'));
      mkdirSync(join(root, 'srv/.shipit/lock'));
      writeFileSync(join(root, 'srv/.shipit/lock/info.json'), '{"by":"bob","token":"theirs"}');
      const finish = (token: string) =>
        spawnSync('sh', ['-c', [scripts.recordScript(local, 'r3', 'good', '{"release":"r3"}', ['r1', 'r3']), scripts.releaseOwnLockScript(local, token)].join('\n')]);
      // Someone else's lock stays; the record and the prune happen (never of the current release).
      expect(finish('mine').status).toBe(0);
      expect(existsSync(join(root, 'srv/.shipit/lock/info.json'))).toBe(true);
      expect(readFileSync(join(root, 'srv/.shipit/releases/r3/meta.json'), 'utf8')).toBe('{"id":"r3","state":"good"}');
      expect(readFileSync(join(root, 'srv/.shipit/history.jsonl'), 'utf8')).toBe('{"release":"r3"}\n');
      // The audit log quotes what a failing app said: readable by root only, as the journal it comes from.
      expect(statSync(join(root, 'srv/.shipit/history.jsonl')).mode & 0o777).toBe(0o600);
      expect(existsSync(join(root, 'srv/releases/r1'))).toBe(false);
      expect(existsSync(join(root, 'srv/.shipit/releases/r1'))).toBe(false);
      expect(existsSync(join(root, 'srv/releases/r2'))).toBe(true);
      expect(existsSync(join(root, 'srv/releases/r3'))).toBe(true);
      // Our own lock goes.
      writeFileSync(join(root, 'srv/.shipit/lock/info.json'), '{"by":"alice","token":"mine"}');
      // What a run cut off during its upload left half-staged (r9) goes too; this run's own staging (r3) is kept.
      for (const dir of ['srv/releases/.r9.tmp/app', 'srv/.shipit/releases/r9.tmp/units', 'srv/releases/.r3.tmp', 'srv/.shipit/releases/r3.tmp']) mkdirSync(join(root, dir), { recursive: true });
      expect(finish('mine').status).toBe(0);
      expect(existsSync(join(root, 'srv/.shipit/lock'))).toBe(false);
      expect(existsSync(join(root, 'srv/releases/.r9.tmp'))).toBe(false);
      expect(existsSync(join(root, 'srv/.shipit/releases/r9.tmp'))).toBe(false);
      expect(existsSync(join(root, 'srv/releases/.r3.tmp'))).toBe(true);
      expect(existsSync(join(root, 'srv/.shipit/releases/r3.tmp'))).toBe(true);
      expect(() => scripts.releaseOwnLockScript(local, "x' ; rm -rf /")).toThrow(/invalid lock token/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('switches current by renaming a new symlink, after the socket is up, then restarts and reads the state', () => {
    const text = scripts.activateScript(layout, '20261125T130501Z', 60_000);
    const lines = text.split('\n');
    const at = (needle: string) => lines.findIndex((l) => l === needle);
    const start = at('elif [ "$sock_active" != active ]; then systemctl start "$A.socket" || why "$A.socket"; fi');
    expect(start).toBeGreaterThan(0);
    expect(at('ln -sfn "releases/20261125T130501Z" "$D/.current.tmp"')).toBeGreaterThan(start);
    expect(at('mv -fT "$D/.current.tmp" "$D/current"')).toBe(at('ln -sfn "releases/20261125T130501Z" "$D/.current.tmp"') + 1);
    // The restart is the last change; the service lines (the gate's baseline) come after it.
    const restart = at(scripts.restartService('55.0').split('\n').at(-1)!);
    expect(lines.slice(restart + 1).join('\n')).toBe(scripts.serviceScript(layout).split('\n').slice(5).join('\n'));
    expect(text).toContain('[ "$changed" = 0 ] || systemctl daemon-reload');
  });

  it("refuses to activate another app's release, before any unit or `current` changes (run by /bin/sh)", () => {
    // Two configs with one deployTo: `shipit rollback` of the second picks the first's releases (prepare refuses
    // the deploy; a rollback stages nothing).
    const root = mkdtempSync(join(tmpdir(), 'shipit-foreign-'));
    try {
      const D = join(root, 'srv');
      mkdirSync(join(D, 'releases', 'r1'), { recursive: true });
      mkdirSync(join(D, '.shipit', 'releases', 'r1', 'units'), { recursive: true });
      writeFileSync(join(D, '.shipit', 'releases', 'r1', 'units', 'api.service'), '');
      writeFileSync(join(D, '.shipit', 'releases', 'r1', 'units', 'api.socket'), '');
      mkdirSync(join(root, 'bin'));
      writeFileSync(join(root, 'bin', 'systemctl'), `#!/bin/sh\necho "$@" >> ${root}/systemctl.log\n`, { mode: 0o755 });
      const activate = (app: string) =>
        spawnSync('sh', ['-c', scripts.activateScript({ deployTo: D, app, serviceUser: app }, 'r1', 60_000)], {
          encoding: 'utf8',
          env: { ...process.env, PATH: `${root}/bin:${process.env.PATH}` },
        });
      const run = activate('api-worker');
      expect(run.status).toBe(3);
      expect(run.stderr).toBe(`release r1 in ${D} is another app's (its units are not api-worker.service): deployTo must be this app's own directory\n`);
      expect(existsSync(join(root, 'systemctl.log'))).toBe(false);
      expect(existsSync(join(D, 'current'))).toBe(false);
      // Its own release goes past the check (to the fake systemctl).
      activate('api');
      expect(readFileSync(join(root, 'systemctl.log'), 'utf8')).not.toBe('');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads the unit state with one systemctl call and counts the main process's children from /proc (run by /bin/sh)", async () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-svc-'));
    // A main process with two children, and a systemctl that shows it as the service's MainPID.
    const main = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore', detached: true });
    try {
      await new Promise((r) => setTimeout(r, 200));
      writeFileSync(
        join(root, 'systemctl'),
        `#!/bin/sh\nprintf 'ActiveState=active\\nSubState=running\\nMainPID=${main.pid}\\nNRestarts=2\\nActiveEnterTimestamp=@1764750000\\n\\nActiveState=active\\nListen=0.0.0.0:8123 (Stream)\\n'\n`,
        { mode: 0o755 },
      );
      const out = spawnSync('sh', ['-c', scripts.serviceScript(layout)], { env: { ...process.env, PATH: `${root}:${process.env.PATH}` } }).stdout.toString();
      expect(out).toBe(
        ['ActiveState=active', 'SubState=running', `MainPID=${main.pid}`, 'NRestarts=2', 'ActiveEnterTimestamp=@1764750000', 'Listen=0.0.0.0:8123 (Stream)', 'Workers=2']
          .map((l) => `svc\t${l}\n`)
          .join(''),
      );
    } finally {
      process.kill(-main.pid!, 'SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("inspect names another app's service unit found among deployTo's releases, and nothing for its own (run by /bin/sh)", () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-inspect-foreign-'));
    try {
      const units = (id: string, app: string) => {
        mkdirSync(join(root, 'releases', id), { recursive: true });
        mkdirSync(join(root, '.shipit', 'releases', id, 'units'), { recursive: true });
        for (const kind of ['service', 'socket']) writeFileSync(join(root, '.shipit', 'releases', id, 'units', `${app}.${kind}`), '');
      };
      const foreign = (app: string) =>
        spawnSync('sh', ['-c', scripts.inspectScript({ deployTo: root, app, serviceUser: app })], { encoding: 'utf8', env: { ...process.env, PATH: `${root}/none:/usr/bin:/bin` } })
          .stdout.split('\n')
          .filter((l) => l.startsWith('foreign\t'));
      expect(foreign('api')).toEqual([]);
      units('r1', 'api');
      expect(foreign('api')).toEqual([]);
      expect(foreign('api-worker')).toEqual(['foreign\tapi.service']);
      units('r2', 'api-worker');
      expect(foreign('api')).toEqual(['foreign\tapi-worker.service']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('units serving another deployTo: another directory holding releases, not another spelling of this one (run by /bin/sh)', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-elsewhere-'));
    try {
      // The lines as they run, with /etc/systemd/system moved under root.
      const systemd = join(root, 'systemd');
      mkdirSync(systemd);
      const lines = [...scripts.UNITS_ELSEWHERE_LINES, 'printf "%s|%s" "$elsewhere" "$elsewhere_port"'].join('\n').replaceAll(scripts.SYSTEMD_DIR, systemd);
      const elsewhere = (deployTo: string, workingDirectory: string) => {
        writeFileSync(join(systemd, 'shop.service'), `# shop.service, rendered by shipit from units/node.service.tmpl\n[Service]\nWorkingDirectory=${workingDirectory}/current\n`);
        writeFileSync(join(systemd, 'shop.socket'), '# shop.socket, rendered by shipit from units/socket.tmpl\n[Socket]\nListenStream=0.0.0.0:8000\n');
        return spawnSync('sh', ['-c', `D=${quote(deployTo)}; A=shop\n${lines}`], { encoding: 'utf8' }).stdout;
      };
      const shop = join(root, 'srv/shop');
      mkdirSync(join(shop, 'releases/r1'), { recursive: true });
      mkdirSync(join(root, 'srv/shop-staging/releases/r1'), { recursive: true });
      // Another environment's deployTo in use, whether this one exists yet or not.
      expect(elsewhere(shop, join(root, 'srv/shop-staging'))).toBe(`${root}/srv/shop-staging|8000`);
      expect(elsewhere(join(root, 'srv/shop-new'), join(root, 'srv/shop-staging'))).toBe(`${root}/srv/shop-staging|8000`);
      // This very directory, however the unit or the config spells it.
      expect(elsewhere(shop, shop)).toBe('|');
      expect(elsewhere(shop, `${root}/srv//shop`)).toBe('|');
      expect(elsewhere(`${root}//srv/shop`, shop)).toBe('|');
      symlinkSync(shop, join(root, 'shop-link'));
      expect(elsewhere(join(root, 'shop-link'), shop)).toBe('|');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('inspect and remove report units serving another deployTo with the same lines, which parseElsewhere reads (run by /bin/sh)', () => {
    const report = scripts.UNITS_ELSEWHERE_REPORT_LINES.join('\n');
    expect(scripts.inspectScript(layout)).toContain(report);
    expect(removalScript(layout, ['hello.service'])).toContain(report);
    // The tagged line alone, from what UNITS_ELSEWHERE_LINES found.
    const tagged = (elsewhere: string, port: string) =>
      spawnSync('sh', ['-c', `elsewhere=${quote(elsewhere)}; elsewhere_port=${quote(port)}\n${scripts.UNITS_ELSEWHERE_REPORT_LINES.at(-1)}`], { encoding: 'utf8' }).stdout;
    expect(parseElsewhere(tagged('/srv/shop', '8000'))).toEqual({ deployTo: '/srv/shop', port: '8000' });
    expect(parseElsewhere(tagged('/srv/shop', ''))).toEqual({ deployTo: '/srv/shop', port: null });
    expect(tagged('', '')).toBe('');
  });

  it("inspect also reads the main process's working directory: the release it runs, whatever `current` says now (run by /bin/sh)", async () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-cwd-'));
    const release = join(root, 'releases', '20261125T130501Z');
    const older = join(root, 'releases', '20261124T100000Z');
    mkdirSync(release, { recursive: true });
    mkdirSync(older, { recursive: true });
    // As the node runtime after a reload: the master in the release it started in, its worker in the new one.
    const main = spawn('sh', ['-c', `(cd ${release} && exec sleep 30) & wait`], { stdio: 'ignore', detached: true, cwd: older });
    try {
      await new Promise((r) => setTimeout(r, 200));
      writeFileSync(join(root, 'systemctl'), `#!/bin/sh\nprintf 'ActiveState=active\\nMainPID=${main.pid}\\n'\n`, { mode: 0o755 });
      const run = (body: string) => spawnSync('sh', ['-c', body], { env: { ...process.env, PATH: `${root}:${process.env.PATH}` } }).stdout.toString();
      const local = { ...layout, deployTo: root };
      expect(run(scripts.inspectScript(local))).toContain(`svc\tCwd=${release}\n`);
      // The gate's rounds need the state only: no readlink there.
      expect(run(scripts.serviceScript(local))).not.toContain('Cwd=');
    } finally {
      process.kill(-main.pid!, 'SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads both units' active and enabled state with one systemctl call (run by /bin/sh)", () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-units-'));
    try {
      const states = (show: string) => {
        writeFileSync(join(root, 'systemctl'), `#!/bin/sh\nprintf '${show}'\n`, { mode: 0o755 });
        const body = [...scripts.UNIT_STATES, 'echo "$sock_active $sock_file $svc_file"'].join('\n');
        return spawnSync('sh', ['-c', body], { env: { ...process.env, PATH: `${root}:${process.env.PATH}` } }).stdout.toString().trim();
      };
      expect(states('ActiveState=active\\nUnitFileState=enabled\\n\\nActiveState=failed\\nUnitFileState=disabled\\n')).toBe('active enabled disabled');
      // Units systemd does not know (a first deploy before daemon-reload): empty values.
      expect(states('ActiveState=inactive\\nUnitFileState=\\n\\nActiveState=inactive\\nUnitFileState=\\n')).toBe('inactive - -');
      expect(states('')).toBe('- - -');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('re-binds the socket only when a directive changed, not for a comment or blank line (run by /bin/sh)', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-units-install-'));
    try {
      mkdirSync(join(root, 'release'));
      mkdirSync(join(root, 'etc'));
      const socket = (comment: string, listen: string) => `# ${comment}\n[Socket]\n\nListenStream=${listen}\nBacklog=4096\n`;
      const install = (installed: string, shipped: string) => {
        writeFileSync(join(root, 'etc/demo.socket'), installed);
        writeFileSync(join(root, 'release/demo.socket'), shipped);
        writeFileSync(join(root, 'release/demo.service'), '[Service]\n');
        writeFileSync(join(root, 'etc/demo.service'), '[Service]\n');
        const body = ['A=demo', `R=${JSON.stringify(join(root, 'release'))}`, 'changed=0; socket_changed=0', ...scripts.installUnitsLines(join(root, 'etc')), 'echo "$changed $socket_changed"'].join('\n');
        const out = spawnSync('sh', ['-c', body]).stdout.toString().trim();
        expect(readFileSync(join(root, 'etc/demo.socket'), 'utf8')).toBe(shipped);
        return out;
      };
      expect(install(socket('old words', '0.0.0.0:8000'), socket('new words', '0.0.0.0:8000'))).toBe('1 0');
      expect(install(socket('same', '0.0.0.0:8000'), socket('same', '0.0.0.0:8001'))).toBe('1 1');
      expect(install(socket('same', '0.0.0.0:8000'), socket('same', '0.0.0.0:8000'))).toBe('0 0');
      // A first deploy: no socket installed yet.
      rmSync(join(root, 'etc/demo.socket'));
      writeFileSync(join(root, 'release/demo.socket'), socket('x', '0.0.0.0:8000'));
      const body = ['A=demo', `R=${JSON.stringify(join(root, 'release'))}`, 'changed=0; socket_changed=0', ...scripts.installUnitsLines(join(root, 'etc')), 'echo "$changed $socket_changed"'].join('\n');
      expect(spawnSync('sh', ['-c', body]).stdout.toString().trim()).toBe('1 1');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('never lets a release id escape its directory', () => {
    expect(() => scripts.activateScript(layout, '../../etc', 60_000)).toThrow(/invalid release id/);
    expect(() => scripts.pruneScript(layout, ['ok', 'a b'])).toThrow(/invalid release id/);
  });

  it('takes secrets from stdin only: the script text holds the plain env, not the secrets', () => {
    const text = scripts.releaseEnvScript(layout, 'r1', 'LOG_LEVEL=info\n');
    expect(text).toContain(`printf %s 'LOG_LEVEL=info\n' > "$S/releases/r1"/env`);
    expect(text).toContain('cat > "$S/releases/r1"/secrets.env');
    expect(text).not.toContain('s3cret');
  });

  it("writes a release's env 0640 and secrets 0600 from stdin, over what it had (run by /bin/sh)", () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-shared-'));
    try {
      // The current user as the service user: its own chown needs no root, and useradd is never reached.
      const local = { deployTo: join(root, 'srv'), app: 'hello', serviceUser: userInfo().username };
      const meta = join(root, 'srv/.shipit/releases/r1');
      mkdirSync(meta, { recursive: true });
      // Files of an earlier run, world-writable: `>` would keep their mode.
      for (const name of ['env', 'secrets.env']) writeFileSync(join(meta, name), 'stale', { mode: 0o666 });
      chmodSync(join(meta, 'env'), 0o666);
      chmodSync(join(meta, 'secrets.env'), 0o666);
      const run = spawnSync('sh', ['-c', scripts.releaseEnvScript(local, 'r1', 'LOG_LEVEL=info\n')], { input: 'TOKEN=s3cret\n' });
      expect(run.stderr.toString()).toBe('');
      expect(run.status).toBe(0);
      const mode = (name: string) => (statSync(join(meta, name)).mode & 0o777).toString(8);
      expect({ env: mode('env'), secrets: mode('secrets.env') }).toEqual({ env: '640', secrets: '600' });
      expect(readFileSync(join(meta, 'env'), 'utf8')).toBe('LOG_LEVEL=info\n');
      expect(readFileSync(join(meta, 'secrets.env'), 'utf8')).toBe('TOKEN=s3cret\n');
      expect(existsSync(join(root, 'srv/shared/env'))).toBe(false); // shared/ gets it when the release is activated
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads the secrets' length from stdin: the script's only byte counts are of the manifest parts", () => {
    const text = scripts.stageScript(layout, 'r1', { env: '', base: null, dropBytes: 0, sentBytes: 10, sentFiles: 1, finalize: null });
    expect(text).toContain(
      [
        'IFS= read -r secrets_bytes',
        `case $secrets_bytes in ''|*[!0-9]*) echo "stdin does not start with the length of secrets.env" >&2; exit 1 ;; esac`,
        'umask 027',
      ].join('\n'),
    );
    expect(text).toContain('umask 077\nhead -c "$secrets_bytes" > "$M.tmp"/secrets.env\n');
    expect(text.match(/head -c \d+/g)).toEqual(['head -c 0', 'head -c 10']);
    expect(scripts.secretsInput('A="é"\n')).toBe('7\nA="é"\n');
  });

  it('verifies the checksums of the files sent before a staged release becomes visible', () => {
    const plan = { env: '', base: 'r0', dropBytes: 0, sentBytes: 10, sentFiles: 1 };
    const text = scripts.stageScript(layout, 'r1', { ...plan, finalize: { metaJson: '{"id":"r1"}', units: [{ name: 'hello.service', content: '[Unit]\n' }] } });
    const verify = text.indexOf('sha256sum --quiet --strict -c -');
    const rename = text.indexOf('mv "$T" "$D/releases/r1"');
    expect(verify).toBeGreaterThan(0);
    expect(rename).toBeGreaterThan(verify);
    // Without finalize (dependency sets come next) nothing is renamed into place.
    expect(scripts.stageScript(layout, 'r1', { ...plan, finalize: null })).not.toContain('mv "$T"');
    expect(() => scripts.finalizeScript(layout, 'r1', '{}', [{ name: '../x.service', content: '' }])).toThrow(/invalid unit name/);
    expect(() => scripts.stageScript(layout, 'r1', { ...plan, base: '../etc', finalize: null })).toThrow(/invalid release id/);
    expect(() => scripts.stageScript(layout, 'r1', { ...plan, sentBytes: -1, finalize: null })).toThrow(/invalid byte count/);
  });

  it('checks prerequisites with their own messages, and disk space', () => {
    const text = scripts.checkScript(layout, 'r1', [{ check: 'command -v gunicorn', message: "gunicorn isn't installed" }], 2048);
    expect(text).toContain(`if ! ( command -v gunicorn ) > /dev/null 2>&1; then printf "prereq: %s\\n" 'gunicorn isn'\\''t installed'; fail=1; fi`);
    expect(text).toContain('if [ "${avail:-0}" -lt 2048 ]');
  });

  it('a check that tells its failures apart by exit code gets the message of each, run by /bin/sh', () => {
    const outcome = (check: string) => {
      const line = scripts
        .checkScript(layout, 'r1', [{ check, message: 'module missing', messages: { 2: "class isn't there" } }], 0)
        .split('\n')
        .find((l) => l.includes('module missing'))!;
      const run = spawnSync('sh', ['-c', ['set -eu', 'fail=0', line, 'echo "fail=$fail"'].join('\n')], { encoding: 'utf8' });
      return run.stdout.trim().split('\n');
    };
    expect(outcome('exit 2')).toEqual(["prereq: class isn't there", 'fail=1']);
    expect(outcome('exit 1')).toEqual(['prereq: module missing', 'fail=1']);
    expect(outcome('exit 7')).toEqual(['prereq: module missing', 'fail=1']);
    expect(outcome('true')).toEqual(['fail=0']);
  });

  it("puts the check's output where a message says {out}, run by /bin/sh", () => {
    const line = scripts
      .checkScript(layout, 'r1', [{ check: 'printf %s "$who"; exit 2', message: 'taken', messages: { 2: "taken by {out}: `systemctl cat {out}`, it's there" } }], 0)
      .split('\n')
      .find((l) => l.includes('taken'))!;
    const run = (who: string) => spawnSync('sh', ['-c', ['set -eu', 'fail=0', `who=${who}`, line, 'echo "fail=$fail"'].join('\n')], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(run('api.socket')).toEqual(["prereq: taken by api.socket: `systemctl cat api.socket`, it's there", 'fail=1']);
    // Output that looks like a format or a command stays text.
    expect(run("'%s$(id)'")).toEqual(["prereq: taken by %s$(id): `systemctl cat %s$(id)`, it's there", 'fail=1']);
  });
  it('a conflict (Prerequisite.conflict) adds its marker line after its message, not after an unforeseen failure of its check', () => {
    const line = scripts
      .checkScript(layout, 'r1', [{ check: 'printf %s /srv/shop; exit "$code"', message: 'unreadable', messages: { 2: 'serves {out}' }, conflict: true }], 0)
      .split('\n')
      .find((l) => l.includes('serves'))!;
    const run = (code: number) => spawnSync('sh', ['-c', ['set -eu', 'fail=0', `code=${code}`, line, 'echo "fail=$fail"'].join('\n')], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(run(2)).toEqual(['prereq: serves /srv/shop', scripts.PREREQ_CONFLICT, 'fail=1']);
    expect(run(1)).toEqual(['prereq: unreadable', 'fail=1']);
    expect(run(0)).toEqual(['fail=0']);
  });

  it('a conflict whose check has no message per exit code (deployTo holds another app\'s releases) marks its one message', () => {
    const line = scripts
      .checkScript(layout, 'r1', [{ check: '[ "$code" = 0 ]', message: "holds another app's releases", conflict: true }], 0)
      .split('\n')
      .find((l) => l.includes('another app'))!;
    const run = (code: number) => spawnSync('sh', ['-c', ['set -eu', 'fail=0', `code=${code}`, line, 'echo "fail=$fail"'].join('\n')], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(run(1)).toEqual(["prereq: holds another app's releases", scripts.PREREQ_CONFLICT, 'fail=1']);
    expect(run(0)).toEqual(['fail=0']);
  });
});

describe('the restart (run by /bin/sh, systemctl faked)', () => {
  /**
   * Runs restartService with a systemctl whose restarts fail `failures` times, showing ExecMainStatus `status`;
   * with `hangs`, a restart never returns (a Type=notify start that never sends READY=1).
   */
  function restart(failures: number, status: string, hangs = false, limit = '55.0') {
    const bin = mkdtempSync(join(tmpdir(), 'shipit-restart-'));
    try {
      writeFileSync(
        join(bin, 'systemctl'),
        [
          '#!/bin/sh',
          `echo "$*" >> ${JSON.stringify(join(bin, 'calls'))}`,
          'case "$1" in',
          hangs ? '  restart) exec sleep 30 ;;' : `  restart) n=$(grep -c '^restart' ${JSON.stringify(join(bin, 'calls'))}); [ "$n" -gt ${failures} ] ;;`,
          `  show) echo ${status} ;;`,
          'esac',
        ].join('\n'),
        { mode: 0o755 },
      );
      const body = ['A=demo', 'why() { echo "why $1" >&2; exit 1; }', scripts.restartService(limit), 'echo restarted'].join('\n');
      const started = performance.now();
      const run = spawnSync('sh', ['-c', body], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 10_000 });
      const calls = readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n');
      return { status: run.status, stdout: run.stdout.toString(), stderr: run.stderr.toString(), calls, ms: performance.now() - started };
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }

  it('restarts once when it works', () => {
    expect(restart(0, '0')).toMatchObject({ status: 0, stdout: 'restarted\n', calls: ['restart demo.service'] });
  });

  it("starts again once when systemd could not attach the process to its cgroup (219), which is not the release's fault", () => {
    const run = restart(1, '219');
    expect(run).toMatchObject({ status: 0, stdout: 'restarted\n' });
    expect(run.calls).toEqual(['restart demo.service', 'show -p ExecMainStatus --value demo.service', 'restart demo.service']);
    expect(run.stderr).toBe('demo.service: systemd could not attach the process to its cgroup (status 219); starting it again\n');
    expect(restart(2, '219')).toMatchObject({ status: 1, stderr: expect.stringMatching(/why demo.service\n$/) }); // once only
  });

  it('leaves any other failure to why, at once', () => {
    const run = restart(1, '3');
    expect(run).toMatchObject({ status: 1, stdout: '', stderr: 'why demo.service\n' });
    expect(run.calls).toEqual(['restart demo.service', 'show -p ExecMainStatus --value demo.service']);
  });

  it('stops waiting for a start that never reports ready at its limit, says so naming the unit and the deadline, then why', () => {
    const run = restart(0, '0', true, '0.5');
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'why demo.service\n' +
        "demo.service did not finish restarting within 0.5 s (health.healthyDeadline, less the activation's own steps): systemd was " +
        'still stopping the old process or waiting for the new one to report ready (READY=1); its last lines above say where. Raise ' +
        'health.healthyDeadline if it legitimately needs longer\n',
    );
    // Once: a hang is the release's, not systemd's cgroup race.
    expect(run.calls).toEqual(['restart demo.service']);
    expect(run.ms).toBeLessThan(5_000);
  });

  it("bounds the restart by the activation's limit less a quarter of it, at most 5 s, in timeout(1)'s seconds", () => {
    expect(scripts.restartLimitSeconds(60_000)).toBe('55.0');
    expect(scripts.restartLimitSeconds(20_000)).toBe('15.0');
    expect(scripts.restartLimitSeconds(10_000)).toBe('7.5');
    expect(scripts.restartLimitSeconds(1_234)).toBe('0.9');
    expect(() => scripts.restartLimitSeconds(0)).toThrow(/invalid restart time limit/);
    expect(scripts.activateScript(layout, 'r1', 20_000)).toContain('timeout 15.0 systemctl restart "$A.service"');
  });
});

describe('why: what a failed start prints', () => {
  it("gives systemd's last two telling lines, then the app's last lines that name an error (run by /bin/sh, journalctl faked)", () => {
    const bin = mkdtempSync(join(tmpdir(), 'shipit-why-'));
    try {
      // PID 1's lines about the unit, then the app's own, as journalctl prints them with -o cat.
      writeFileSync(
        join(bin, 'journalctl'),
        [
          '#!/bin/sh',
          'case "$*" in',
          '  *_PID=1*) printf "%s\\n" "demo.service: Main process exited, code=exited, status=4/NOPERMISSION" "demo.service: Failed to kill control group /system.slice/demo.service, ignoring: Input/output error" "demo.service: Failed with result \'exit-code\'." "Failed to start demo.service - demo." ;;',
          '  *) printf "%s\\n" \'{"level":"info","msg":"shipit runtime master"}\' \'{"level":"error","msg":"app could not be loaded","error":"Error: boom at import"}\' \'{"level":"error","msg":"halting: worker failed to boot: boom at import","exit_code":4}\' ;;',
          'esac',
        ].join('\n'),
        { mode: 0o755 },
      );
      const body = ['t0=0', ...scripts.WHY_FUNCTION, 'why demo.service'].join('\n');
      const run = spawnSync('sh', ['-c', body], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      expect(run.status).toBe(1);
      expect(run.stderr.toString().split('\n').filter(Boolean)).toEqual([
        'demo.service: Main process exited, code=exited, status=4', // not systemd's LSB name, NOPERMISSION
        'Failed to start demo.service - demo.',
        'app: {"level":"error","msg":"app could not be loaded","error":"Error: boom at import"}',
        'app: {"level":"error","msg":"halting: worker failed to boot: boom at import","exit_code":4}',
      ]);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('sends the app\'s lines long, for the deployer to redact before it cuts them: whole up to 4 KiB, then cut', () => {
    const bin = mkdtempSync(join(tmpdir(), 'shipit-why-'));
    try {
      const long = `error: ${'a'.repeat(993)}`;
      const huge = `error: ${'b'.repeat(5000)}`;
      writeFileSync(join(bin, 'journalctl'), `#!/bin/sh\ncase "$*" in *_PID=1*) ;; *) printf '%s\\n' '${long}' '${huge}' ;; esac\n`, { mode: 0o755 });
      const run = spawnSync('sh', ['-c', ['t0=0', ...scripts.WHY_FUNCTION, 'why demo.service'].join('\n')], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      expect(run.stderr.toString().split('\n').filter(Boolean)).toEqual([`app: ${long}`, `app: ${huge.slice(0, 4096)}...`]);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it("keeps a signal's name (status=9/KILL) and systemd's own (status=219/CGROUP), which say what happened", () => {
    const bin = mkdtempSync(join(tmpdir(), 'shipit-why-'));
    try {
      const said = ['demo.service: Main process exited, code=killed, status=9/KILL', 'demo.service: Main process exited, code=exited, status=219/CGROUP'];
      writeFileSync(join(bin, 'journalctl'), `#!/bin/sh\ncase "$*" in *_PID=1*) printf '%s\\n' '${said.join("' '")}' ;; esac\n`, { mode: 0o755 });
      const run = spawnSync('sh', ['-c', ['t0=0', ...scripts.WHY_FUNCTION, 'why demo.service'].join('\n')], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      expect(run.stderr.toString()).toBe(`${said.join('\n')}\n`);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
