import { jest } from '@jest/globals';
import { readLab, type LabInfo } from './support/lab.js';
import { execa } from 'execa';
import { snapshotHost, waitFor } from './support/ops.js';
import { Project } from './support/project.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

/**
 * `shipit remove` on 3 lab hosts, through the built binary as CI runs it: without --yes nothing changes; a held lock
 * refuses; with --yes no unit, no listener and no directory is left, another app on the same hosts is untouched, a
 * second run finds nothing, a deploy works again from scratch, and an unreachable host is reported (exit 3).
 */
const APP = 'e2e-remove';
const PORT = 8411;
const OTHER = 'e2e-remove-other';
const OTHER_PORT = 8412;
jest.setTimeout(180_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;
let other: Project;

/** What is left of APP on a host: unit files, their systemd state, a listener on its port, its directory. */
const leftOf = (address: string) =>
  onHost(
    lab,
    address,
    [
      `ls /etc/systemd/system | grep -c '^${APP}\\.' || true`,
      `find /etc/systemd/system -name '${APP}.*' | grep -c . || true`,
      `systemctl show -p LoadState --value ${APP}.service ${APP}.socket | grep . | tr '\\n' ' ' | sed 's/ $//'; echo`,
      `ss -Hltn 'sport = :${PORT}' | grep -c . || true`,
      `test -e /srv/${APP} && echo dir || echo no-dir`,
    ].join('; '),
  ).then((out) => out.trim().split('\n').map((l) => l.trim()));

const deploy = async (p: Project) => {
  const run = await p.shipit(['deploy', 'production']);
  if (run.exitCode !== 0) throw new Error(`deploy of ${p.options.app} failed: ${run.all}`);
};

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 3);
  await Promise.all(hosts.flatMap((h) => [wipeApp(lab, h.address, APP), wipeApp(lab, h.address, OTHER)]));
  project = new Project(lab, { app: APP, port: PORT, hosts, rollout: '{ canary: 1, maxParallel: 2 }' });
  other = new Project(lab, { app: OTHER, port: OTHER_PORT, hosts, rollout: '{ canary: 1, maxParallel: 2 }' });
  await deploy(project);
  await deploy(other);
});
afterAll(async () => {
  project?.cleanup();
  other?.cleanup();
  if (lab) await Promise.all(hosts.flatMap((h) => [wipeApp(lab, h.address, APP), wipeApp(lab, h.address, OTHER)]));
});

const snapshots = (app: string) => Promise.all(hosts.map((h) => snapshotHost(lab, h.address, app)));

describe('shipit remove', () => {
  it('without --yes says what it would remove per host, exits 2 with the command to run, and changes nothing', async () => {
    const before = await snapshots(APP);
    const run = await project.shipit(['remove', 'production']);
    expect(run.exitCode).toBe(2);
    // The service's StateDirectory= (/var/lib/<app>) is the app's data: kept, and said so.
    for (const h of hosts) expect(run.stdout).toMatch(new RegExp(`^${h.name}\\s+would remove: ${APP}\\.socket \\(active\\), ${APP}\\.service \\(active\\), /srv/${APP} \\(1 release\\(s\\), current \\S+\\); /var/lib/${APP} \\(the app's data\\) is kept: \`rm -r /var/lib/${APP}\` if it is not needed; the service user ${APP} is kept: \`userdel ${APP}\` if nothing else runs as it or owns files$`, 'm'));
    expect(run.stderr).toContain('hint: to remove e2e-remove from web1, web2, web3, run `shipit remove production --yes`');
    expect(await snapshots(APP)).toEqual(before);
    expect((await httpGet(hosts[0]!.address, PORT, '/readyz')).status).toBe(200);
  });

  it('--json says the same as one object, with removed: false', async () => {
    const run = await project.shipit(['remove', 'production', '--json']);
    expect(run.exitCode).toBe(2);
    const out = JSON.parse(run.stdout) as { removed: boolean; hosts: { host: string; units: string[]; dir: string; nothing: boolean }[] };
    expect(out.removed).toBe(false);
    expect(out.hosts.map((h) => [h.host, h.units, h.dir, h.nothing])).toEqual(hosts.map((h) => [h.name, [`${APP}.socket`, `${APP}.service`], `/srv/${APP}`, false]));
  });

  it('a lock held by someone else refuses it (exit 4) naming the holder; nothing changes', async () => {
    const acquire = await project.shipit(['lock', 'acquire', 'production', '-m', 'maintenance window']);
    expect(acquire.exitCode).toBe(0);
    try {
      const before = await snapshots(APP);
      const run = await project.shipit(['remove', 'production', '--yes']);
      expect(run.exitCode).toBe(4);
      expect(run.stderr).toContain('maintenance window');
      expect(await snapshots(APP)).toEqual(before);
    } finally {
      expect((await project.shipit(['lock', 'release', 'production'])).exitCode).toBe(0);
    }
  });

  it('--yes leaves no unit, no listener, no directory; the other app on the same hosts is untouched', async () => {
    const otherBefore = await snapshots(OTHER);
    const run = await project.shipit(['remove', 'production', '--yes']);
    expect(run.all).not.toContain('error');
    expect(run.exitCode).toBe(0);
    for (const h of hosts) expect(run.stdout).toMatch(new RegExp(`^${h.name}\\s+removed: ${APP}\\.socket, ${APP}\\.service, /srv/${APP} `, 'm'));
    expect(run.stdout).toContain(`removed ${APP} from 3 host(s) of production`);
    for (const h of hosts) expect(await leftOf(h.address)).toEqual(['0', '0', 'not-found not-found', '0', 'no-dir']);
    await expect(httpGet(hosts[0]!.address, PORT, '/readyz', 1000)).rejects.toThrow();
    expect(await snapshots(OTHER)).toEqual(otherBefore);
    for (const h of hosts) expect((await httpGet(h.address, OTHER_PORT, '/readyz')).status).toBe(200);
  });

  it('a second run finds nothing deployed on any host and succeeds; so does status', async () => {
    const run = await project.shipit(['remove', 'production', '--yes']);
    expect(run.exitCode).toBe(0);
    for (const h of hosts) expect(run.stdout).toMatch(new RegExp(`^${h.name}\\s+nothing deployed; /var/lib/${APP} \\(the app's data\\) is kept: `, 'm'));
    for (const h of hosts) expect((await leftOf(h.address)).at(-1)).toBe('no-dir');
    expect((await project.shipit(['status', 'production'])).stdout).toContain('has not been deployed to production yet');
    // Without --yes too: nothing to confirm.
    const preview = await project.shipit(['remove', 'production']);
    expect({ code: preview.exitCode, stderr: preview.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('a deploy afterwards works from scratch', async () => {
    project.setVersion('again');
    await deploy(project);
    for (const h of hosts) expect((await httpGet(h.address, PORT, '/readyz')).status).toBe(200);
  });

  it("someone's data in deployTo on one host refuses it on every host (exit 2, naming host and entry); nothing changes", async () => {
    const web2 = hosts[1]!;
    await onHost(lab, web2.address, `mkdir /srv/${APP}/uploads && echo precious > /srv/${APP}/uploads/a.jpg`);
    try {
      const before = await snapshots(APP);
      const run = await project.shipit(['remove', 'production', '--yes']);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toContain(`error: ${web2.name}: deployTo /srv/${APP} holds entries shipit did not create (uploads)`);
      expect(await snapshots(APP)).toEqual(before);
    } finally {
      await onHost(lab, web2.address, `rm -r /srv/${APP}/uploads`);
    }
  });

  it('an unreachable host is reported and the command exits 3; the reachable hosts are done', async () => {
    project.writeConfig({ hosts: [...hosts, { name: 'ghost', address: '10.213.37.250', users: ['root'], sshPort: 22 } as never] });
    try {
      const preview = await project.shipit(['remove', 'production']);
      expect(preview.exitCode).toBe(3);
      expect(preview.stdout).toMatch(/^ghost\s+unreachable: /m);
      const run = await project.shipit(['remove', 'production', '--yes']);
      expect(run.exitCode).toBe(3);
      expect(run.stdout).toMatch(/^ghost\s+unreachable: /m);
      expect(run.stderr).toContain('nothing was removed there');
      for (const h of hosts) expect(await leftOf(h.address)).toEqual(['0', '0', 'not-found not-found', '0', 'no-dir']);
    } finally {
      project.writeConfig({ hosts });
    }
  });
});

/** Whether the local process `pid` has an SSH connection open to every one of `addresses` (it is past loading, trapping). */
const connectedToAll = async (pid: number, addresses: string[]) => {
  const { stdout } = await execa('ss', ['-tnpH', 'state', 'established']);
  return addresses.every((a) => stdout.split('\n').some((line) => line.includes(`${a}:22`) && line.includes(`pid=${pid},`)));
};

describe('shipit remove --yes interrupted (Ctrl-C)', () => {
  beforeAll(async () => {
    project.setVersion('for-ctrl-c');
    await deploy(project);
  });

  it('before any removal was sent (waiting for the lock): exit 130 saying nothing was removed; nothing changes, the holder keeps the lock', async () => {
    expect((await project.shipit(['lock', 'acquire', 'production', '-m', 'held during ctrl-c'])).exitCode).toBe(0);
    try {
      const before = await snapshots(APP);
      const running = project.shipit(['remove', 'production', '--yes', '--lock-wait', '2m']);
      await waitFor(() => connectedToAll(running.pid!, hosts.map((h) => h.address)), 30_000, 'remove connected to every host');
      running.kill('SIGINT');
      const run = await running;
      expect(run.exitCode).toBe(130);
      expect(run.stderr).toContain("error: interrupted by SIGINT before any host's removal was sent: nothing was removed (the deploy lock was released)");
      expect(run.stderr).toContain('hint: run `shipit remove production --yes` again when ready');
      expect(await snapshots(APP)).toEqual(before);
      for (const h of hosts) expect(await onHost(lab, h.address, `cat /srv/${APP}/.shipit/lock/info.json`)).toContain('held during ctrl-c');
    } finally {
      expect((await project.shipit(['lock', 'release', 'production'])).exitCode).toBe(0);
    }
  });

  it('while the removals run (one host slow to stop): they finish, each host says it was removed, no lock is left, exit 0', async () => {
    const slow = hosts[1]!;
    // An admin's drop-in (remove keeps it) that makes stopping the service take 8 s on that host only.
    const dropIn = `/etc/systemd/system/${APP}.service.d`;
    await onHost(lab, slow.address, `mkdir -p ${dropIn} && printf '[Service]\\nExecStop=/bin/sleep 8\\n' > ${dropIn}/slow-stop.conf && systemctl daemon-reload`);
    try {
      const running = project.shipit(['remove', 'production', '--yes']);
      // web1's removal has finished, web2's is still stopping its service: Ctrl-C now.
      await waitFor(async () => (await onHost(lab, hosts[0]!.address, `test -e /srv/${APP} && echo dir || echo gone`)).trim() === 'gone', 60_000, `/srv/${APP} gone from ${hosts[0]!.name}`);
      expect((await onHost(lab, slow.address, `systemctl show -p ActiveState --value ${APP}.service`)).trim()).toBe('deactivating');
      running.kill('SIGINT');
      const run = await running;
      expect(run.stderr).toContain('SIGINT: stopping: no removal is sent from now on; those already sent finish');
      expect(run.stderr).toContain(`interrupted by SIGINT after the removal was sent to ${hosts.map((h) => h.name).join(', ')}: it was let finish`);
      for (const h of hosts) expect(run.stdout).toMatch(new RegExp(`^${h.name}\\s+removed: ${APP}\\.socket, ${APP}\\.service, /srv/${APP} `, 'm'));
      expect(run.exitCode).toBe(0);
      await onHost(lab, slow.address, `rm -rf ${dropIn} && systemctl daemon-reload`);
      for (const h of hosts) expect(await leftOf(h.address)).toEqual(['0', '0', 'not-found not-found', '0', 'no-dir']);
    } finally {
      await onHost(lab, slow.address, `rm -rf ${dropIn} && systemctl daemon-reload`);
    }
  });
});
