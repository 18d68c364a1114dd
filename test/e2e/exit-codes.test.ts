import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { readLab, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';
import { whoAmI } from '../../src/cli/identity.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

/**
 * Every documented exit code, provoked for real on 2 lab hosts through the built binary: 0, 2, 3, 4, 5 and 6.
 * 6 (failed and the fleet may be inconsistent): the release a host must revert to was deleted by hand, so
 * the revert of that host fails; the message names it and where each host is.
 */
const APP = 'e2e-exit';
const PORT = 8121;
jest.setTimeout(300_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;
let good: string;
const releaseIdOf = (output: string) => /deploying (\S+) /.exec(output)?.[1];

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 2);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  project = new Project(lab, { app: APP, port: PORT, hosts });
});
afterAll(async () => {
  project?.cleanup();
  // This suite leaves a host broken on purpose: clean up after it.
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
});

describe('exit codes on the lab', () => {
  it('0: status before the first deploy says the app is not deployed (not that its probe was refused)', async () => {
    const run = await project.shipit(['status', 'production']);
    expect(run.exitCode).toBe(0);
    const rows = run.stdout.split('\n').filter((l) => /^web\d/.test(l));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/^web\d\s+not deployed\s+inactive\/dead\s+-\s+0\s+-\s+-$/);
    expect(run.stdout).toContain(`${APP} has not been deployed to production yet: \`shipit deploy production\` makes its first release`);
  });

  it('0: a deploy and every read command succeed', async () => {
    project.setVersion('e1');
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(0);
    good = releaseIdOf(run.all)!;
    for (const args of [['status'], ['releases'], ['logs', '-n', '5'], ['lock', 'status'], ['plan'], ['units']]) {
      const read = await project.shipit([...args, 'production']);
      expect([args.join(' '), read.exitCode]).toEqual([args.join(' '), 0]);
    }
  });

  it('2: config and usage errors, before any host is touched', async () => {
    const cases: [string[], RegExp][] = [
      [['releases', 'staging'], /unknown environment "staging"/],
      [['logs', 'production', '-n', 'lots'], /-n "lots": not a number of lines/],
      [['logs', 'production', '--since', 'last tuesday'], /--since "last tuesday": not a duration or a time/],
      [['lock'], /Usage: shipit lock/],
      [['deploy'], /missing required argument 'env'/],
      [['plan', 'production', '--host', 'nope'], /--host nope: not a host/],
      [['rollback', 'production', '--to', 'x;rm'], /--to "x;rm": not a release id/],
    ];
    for (const [args, message] of cases) {
      const run = await project.shipit(args);
      expect([args.join(' '), run.exitCode]).toEqual([args.join(' '), 2]);
      expect(run.all).toMatch(message);
    }
    writeFileSync(join(project.dir, 'broken.config.ts'), "export default { app: 'Bad App', environments: {} };\n");
    const bad = await project.shipit(['status', 'production', '--config', 'broken.config.ts']);
    expect(bad.exitCode).toBe(2);
    expect(bad.all).toMatch(/app/);
    // A file the config names that is not there is the config's mistake (like a missing server.module), not a
    // failed build: deploy and plan alike exit 2 naming the field and the path they looked for.
    project.writeConfig({ server: "python: { requirements: 'no-such-requirements.txt' }," });
    for (const command of ['deploy', 'plan']) {
      const run = await project.shipit([command, 'production']);
      expect([command, run.exitCode]).toEqual([command, 2]);
      expect(run.all).toContain(`server.python.requirements: ${join(project.dir, 'no-such-requirements.txt')} does not exist (expected a pip requirements file)`);
    }
    // A misspelt gunicorn app module was found only when the canary started it (reverted, exit 5): now before the
    // lock, from the built artifact, for deploy and plan alike.
    project.writeConfig({ module: 'app.mian:app' });
    for (const command of ['deploy', 'plan']) {
      const run = await project.shipit([command, 'production']);
      expect([command, run.exitCode]).toEqual([command, 2]);
      expect(run.all).toContain(`server.module: "app.mian:app": module app.mian is not in build.dir (${join(project.dir, 'dist')}): looked for app/mian.py, app/mian/`);
      expect(run.all).toContain('did you mean "app.main:app"?');
      expect(run.all).not.toMatch(/lock|activate/);
    }
    for (const body of await Promise.all(hosts.map((h) => httpGet(h.address, PORT, '/readyz')))) expect(body.body).toMatchObject({ release: good });
    project.writeConfig();
  });

  it('3: an unknown host key or an unreachable host, for every fleet command', async () => {
    const empty = join(project.dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    project.writeConfig({ knownHostsFile: empty });
    for (const args of [['releases'], ['logs'], ['lock', 'status'], ['plan']]) {
      const run = await project.shipit([...args, 'production']);
      expect([args.join(' '), run.exitCode]).toEqual([args.join(' '), 3]);
      expect(run.all).toMatch(/SHA256:/);
    }
    project.writeConfig({ hosts: [hosts[0]!, { name: 'ghost', address: '10.213.37.250', users: ['root'], sshPort: 22 } as never] });
    expect((await project.shipit(['releases', 'production'])).exitCode).toBe(3);
    project.writeConfig({ hosts });
  });

  it('4: the lock is held', async () => {
    expect((await project.shipit(['lock', 'acquire', 'production', '-m', 'exit-code test'])).exitCode).toBe(0);
    // One release on the hosts: nothing to roll back to is found before the lock (exit 2), not the lock someone holds.
    const nothing = await project.shipit(['rollback', 'production']);
    expect(nothing.exitCode).toBe(2);
    expect(nothing.all).toMatch(new RegExp(`no good release older than ${good} is present on every host`));
    expect(nothing.all).not.toMatch(/exit-code test|locked/);
    // A second release, so that a rollback would have somewhere to go: then the held lock is what stops it.
    expect((await project.shipit(['lock', 'release', 'production', '--force'])).exitCode).toBe(0);
    project.setVersion('e1b');
    const second = await project.shipit(['deploy', 'production']);
    expect(second.exitCode).toBe(0);
    good = releaseIdOf(second.all)!;
    expect((await project.shipit(['lock', 'acquire', 'production', '-m', 'exit-code test'])).exitCode).toBe(0);
    // (`rollback --to <the release every host runs>` is refused before the lock since 9aad29a: exit 2, not 4.)
    for (const args of [['deploy', 'production'], ['rollback', 'production'], ['plan', 'production']]) {
      const run = await project.shipit(args);
      expect([args.join(' '), run.exitCode]).toEqual([args.join(' '), 4]);
      expect(run.all).toMatch(/exit-code test/);
    }
    // A well-formed id no host has is found before the lock: that is the error (2), not the lock someone holds.
    const missing = await project.shipit(['rollback', 'production', '--to', '20200101T000000Z']);
    expect(missing.exitCode).toBe(2);
    expect(missing.all).toMatch(/release 20200101T000000Z is not present on web\d, web\d/);
    expect(missing.all).not.toMatch(/exit-code test|locked/);
    expect((await project.shipit(['lock', 'release', 'production', '--force'])).exitCode).toBe(0);
  });

  it('lock status marks a lock of a run of ours that is gone as stale (the next deploy removes it)', async () => {
    const gone = spawnSync('true').pid; // a process of this user on this machine, exited
    const info = JSON.stringify({ by: whoAmI(), pid: gone, at: new Date().toISOString(), release: null, message: 'killed run', token: 'tok-gone' });
    await onHost(lab, hosts[0]!.address, `mkdir -p /srv/${APP}/.shipit/lock && printf '%s' '${info}' > /srv/${APP}/.shipit/lock/info.json`);
    const text = await project.shipit(['lock', 'status', 'production']);
    expect(text.stdout).toMatch(new RegExp(`${hosts[0]!.name} .*killed run.*\\(stale: that run is gone; the next deploy or rollback removes it\\)`));
    const json = JSON.parse((await project.shipit(['lock', 'status', 'production', '--json'])).stdout) as { hosts: { host: string; lock: { stale: boolean } | null }[] };
    expect(json.hosts.map((h) => h.lock?.stale ?? null)).toEqual([true, null]);
    expect((await project.shipit(['lock', 'release', 'production', '--force'])).exitCode).toBe(0);
  });

  it('0: two deploys started in the same second, the second waiting with --lock-wait: it goes out under the next id', async () => {
    // It used to fail with exit 2: "release … already exists there (good)".
    project.setVersion('e1c');
    // Both ids are chosen at the build, a fraction of a second after the start: started at the top of a second,
    // both runs choose the same one.
    while (Date.now() % 1000 > 50) await new Promise((resolve) => setTimeout(resolve, 5));
    const runs = await Promise.all([0, 1].map(() => project.shipit(['deploy', 'production', '--lock-wait', '2m'])));
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0]);
    const built = runs.map((r) => releaseIdOf(r.all)!);
    expect(built[1]).toBe(built[0]);
    const id = built[0]!;
    const renamed = runs.filter((r) => r.all.includes('exists already on'));
    expect(renamed).toHaveLength(1);
    expect(renamed[0]!.all).toContain(`release ${id} exists already on web1, web2 (deployed in the same second): deploying as ${id}-02`);
    expect(renamed[0]!.all).toMatch(new RegExp(`deploy of ${id}-02 succeeded on 2 host`));
    // Both are on every host, in time order: the later one current, and rollback goes back to the earlier.
    const listed = JSON.parse((await project.shipit(['releases', 'production', '--json'])).stdout) as { releases: { id: string; state: string }[] };
    expect(listed.releases.slice(0, 2).map((r) => [r.id, r.state])).toEqual([[`${id}-02`, 'current'], [id, 'good']]);
    const back = await project.shipit(['rollback', 'production']);
    expect(back.exitCode).toBe(0);
    expect(back.all).toMatch(new RegExp(`rollback to ${id} succeeded on 2 host`));
    good = id;
  });

  it('5: the release fails and every host is back on the release it ran before', async () => {
    project.setVersion('e2-bad', 'crash-on-import');
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(5);
    expect(run.all).toMatch(/every host is back on the release it ran before/);
    // The app's error is printed once, on the canary's line; the revert and the final error name the host.
    const reason = /web1 +FAILED on \S+: (.*RuntimeError: app\/FAULT says crash-on-import.*)$/m.exec(run.all)?.[1];
    expect(reason).toBeDefined();
    expect(run.all.split(reason!).length - 1).toBe(1);
    expect(run.all).toMatch(/rolling back web1 to the release each ran before\n/);
    expect(run.all).toMatch(/error: deploy of \S+ failed: web1 failed \(its line above says why\)/);
    for (const h of hosts) expect((await httpGet(h.address, PORT, '/readyz')).body).toMatchObject({ release: good });
  });

  it('5: a port already taken on the host is refused before anything is staged, naming the port, and every host keeps serving', async () => {
    // Until ffc6372 this was found at activation (systemd's "Address already in use"), after staging everywhere.
    project.setVersion('e2-port');
    project.writeConfig({ port: 22 });
    const releases = () => Promise.all(hosts.map((h) => onHost(lab, h.address, `ls /srv/${APP}/releases /srv/${APP}/.shipit/releases`)));
    const before = await releases();
    const run = await project.shipit(['deploy', 'production']);
    project.writeConfig({ port: PORT });
    expect(run.exitCode).toBe(5);
    expect(run.all).toMatch(/port 22 is already in use on this host by another service/);
    expect(run.all).not.toMatch(/restarted in/);
    for (const h of hosts) expect((await httpGet(h.address, PORT, '/readyz')).body).toMatchObject({ release: good });
    expect(await releases()).toEqual(before);
  });

  it('6: a host cannot be put back (its previous release was deleted by hand); the message names it', async () => {
    const [web1, web2] = hosts as [LabInfo['hosts'][0], LabInfo['hosts'][0]];
    // The running service keeps serving from memory; what shipit would switch back to is gone.
    await onHost(lab, web1.address, `rm -rf /srv/${APP}/releases/${good} /srv/${APP}/.shipit/releases/${good}/manifest.tsv`);
    project.setVersion('e3-bad', 'crash-on-import');
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(6);
    expect(run.all).toMatch(/REVERT FAILED/);
    expect(run.all).toMatch(/the fleet may be inconsistent; hosts not restored: web1/);
    expect(run.all).toMatch(new RegExp(`now: web1=\\S+ web2=${good}`));
    // web2 was never touched (the canary failed first) and still serves the good release.
    expect((await httpGet(web2.address, PORT, '/readyz')).body).toMatchObject({ release: good });
    // shipit releases shows the damage.
    const releases = await project.shipit(['releases', 'production']);
    expect(releases.stdout).toMatch(/hosts disagree:/);
  });
});
