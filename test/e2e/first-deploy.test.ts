import { readLab, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';
import { onHost, wipeApp } from './support/remote.js';
import { jest } from '@jest/globals';

/**
 * A first deploy that fails leaves the hosts as it found them: no empty /srv/<app>/.shipit, no service user, no
 * units, on the host that failed and on the hosts that had staged the release meanwhile.
 */
const APP = 'e2e-firstfail';
const PORT = 8107;
const BLOCKER = `${APP}-blocker`;
jest.setTimeout(120_000);

let lab: LabInfo;
let project: Project;
let hosts: LabInfo['hosts'];

/** Everything of the app a host holds: its deployTo's tree, its user, its units. */
const traces = (address: string) =>
  onHost(lab, address, `find /srv/${APP} 2>/dev/null; id -u ${APP} 2>/dev/null; ls /etc/systemd/system | grep '^${APP}\\.' || true`).then((out) => out.trim());

const wipe = (address: string) => wipeApp(lab, address, APP).then(() => onHost(lab, address, `userdel ${APP} 2>/dev/null || true`));

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 3);
  await Promise.all(hosts.map((h) => wipe(h.address)));
  project = new Project(lab, {
    app: APP,
    port: PORT,
    hosts,
    health: "{ liveness: '/healthz', readiness: '/readyz', interval: '300ms', timeout: '2s', successes: 2, minHealthyTime: '1s', healthyDeadline: '6s' }",
  });
});
afterAll(async () => {
  project?.cleanup();
  if (lab) {
    await onHost(lab, hosts[2]!.address, `systemctl stop ${BLOCKER} 2>/dev/null || true`);
    await Promise.all(hosts.map((h) => wipe(h.address)));
  }
});

describe('a failed first deploy', () => {
  it('whose prepare fails on one host leaves no host with a trace of the app', async () => {
    // Another service holds the port on web3: its prerequisite check fails, while web1 and web2 stage the release.
    await onHost(lab, hosts[2]!.address, `systemd-run --unit ${BLOCKER} python3 -m http.server ${PORT} > /dev/null 2>&1; for i in $(seq 50); do ss -ltn 'sport = :${PORT}' | grep -q LISTEN && break; sleep 0.1; done`);
    const run = await project.shipit(['deploy', 'production']);
    expect(run.all).toMatch(/web3 +prepare failed: port 8107 is already in use/);
    expect(run.all).toMatch(/web1 +staged/);
    expect(run.exitCode).toBe(5);
    expect(run.all).toContain('what this run created on the hosts that held no release of the app (deployTo, the service user) was removed');
    expect(await Promise.all(hosts.map((h) => traces(h.address)))).toEqual(['', '', '']);
    await onHost(lab, hosts[2]!.address, `systemctl stop ${BLOCKER}`);
  });

  it('stopped by a lock held on one host leaves no trace on the others, nor on that one once its lock is released', async () => {
    const held = await project.shipit(['lock', 'acquire', 'production', '--host', 'web2', '-m', 'maintenance']);
    expect(held.exitCode).toBe(0);
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).not.toBe(0);
    expect(await traces(hosts[0]!.address)).toBe('');
    expect(await traces(hosts[2]!.address)).toBe('');
    expect((await project.shipit(['lock', 'release', 'production', '--host', 'web2'])).exitCode).toBe(0);
    expect(await traces(hosts[1]!.address)).toBe('');
  });

  it('whose release never becomes ready removes its units and says what it keeps: the bad release, for inspection', async () => {
    project.setVersion('v1', 'never-ready');
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(5);
    const id = /deploying (\S+) /.exec(run.all)![1]!;
    expect(run.all).toContain(`no host runs a release, as before; the hosts keep ${id} (marked bad) in deployTo, with the service user, for inspection`);
    for (const h of hosts) {
      const out = await onHost(lab, h.address, `cat /srv/${APP}/.shipit/releases/${id}/meta.json; ls -A /srv/${APP}; id -u ${APP} > /dev/null && echo user; ls /etc/systemd/system | grep '^${APP}\\.' || echo no-units`);
      expect(out).toContain('"state":"bad"');
      expect(out).toContain('user');
      expect(out).toContain('no-units');
      expect(out).not.toMatch(/^current$/m);
    }
  });
});
