import { execFileSync } from 'node:child_process';
import { jest } from '@jest/globals';
import { join } from 'node:path';
import { readLab, type LabInfo } from './support/lab.js';
import { underLoad } from './support/load.js';
import { waitFor } from './support/ops.js';
import { Project, ROOT } from './support/project.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

/**
 * The node preset on 3 real hosts: shipit's clustered runtime (Debian's node 18) behind a systemd socket,
 * rolled out gated; reloads and crashes under continuous load; both ways of telling systemd READY=1.
 */
const APP = 'e2e-node';
const PORT = 8130;
jest.setTimeout(300_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;

const served = () => Promise.all(hosts.map(async (h) => (await httpGet(h.address, PORT, '/readyz')).body as { release: string; version: string }));
const loadAll = <T>(body: () => Promise<T>) => underLoad(hosts.map((h) => ({ address: h.address, port: PORT, path: '/' })), body);
const workerPids = async (address: string) =>
  (await onHost(lab, address, `pgrep -P $(systemctl show -p MainPID --value ${APP}.service) | sort`)).trim().split('\n').filter(Boolean);
/** Only the workers (their process title), not a short-lived `systemd-notify` the master may be running. */
const workers = async (address: string) =>
  (await onHost(lab, address, `pgrep -P $(systemctl show -p MainPID --value ${APP}.service) -f '^shipit-runtime: ${APP} worker ' | sort`)).trim().split('\n').filter(Boolean);
const journal = (address: string) => onHost(lab, address, `journalctl -u ${APP}.service --no-pager -o cat -n 200`);

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 3);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  project = new Project(lab, { app: APP, port: PORT, hosts, preset: 'node' });
});
afterAll(async () => {
  project?.cleanup();
  // Leave the shared lab hosts as we found them: other suites deploy their own apps there.
  if (lab) await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
});

describe('node preset on 3 lab hosts', () => {
  it('deploys with a gated rolling restart: one worker per CPU, READY=1 through systemd-notify without the addon', async () => {
    project.setVersion('n1');
    const run = await project.shipit(['deploy', 'production']);
    expect(run.all).toMatch(/deploy of \S+ succeeded on 3 host/);
    expect(run.exitCode).toBe(0);
    for (const body of await served()) expect(body).toMatchObject({ version: 'n1' });
    for (const h of hosts) {
      const cpus = Number((await onHost(lab, h.address, 'nproc')).trim());
      expect(await workerPids(h.address)).toHaveLength(cpus);
      // The titles name the app (the unit's --name), so `pgrep -f` tells this app's workers from another app's.
      const titles = await onHost(lab, h.address, `m=$(systemctl show -p MainPID --value ${APP}.service); ps -o args= -p $m; ps -o args= --ppid $m | grep '^shipit-runtime:'`);
      const expected = [`shipit-runtime: ${APP} master`, ...Array.from({ length: cpus }, (_, i) => `shipit-runtime: ${APP} worker ${i + 1}`)];
      expect(titles.trim().split('\n').sort()).toEqual(expected.sort());
      const log = await journal(h.address);
      expect(log).toContain('sd_notify: using systemd-notify');
      // Keep-alive balancing (src/runtime/balance.ts) is on wherever there is a second worker to move connections to.
      expect(log).toMatch(new RegExp(`"msg":"shipit runtime master".*"balance":"${cpus > 1 ? 'auto' : 'off'}"`));
      // The socket keeps its unit's Backlog= once the workers listen (Node's listen() alone would set 511);
      // ss shows a listening socket's accept queue length as Send-Q.
      expect((await onHost(lab, h.address, `ss -Hltn 'sport = :${PORT}'`)).trim().split(/\s+/)[2]).toBe('4096');
    }
  });

  it('a second deploy under load fails no request', async () => {
    project.setVersion('n2');
    const { result: run, load } = await loadAll(() => project.shipit(['deploy', 'production']));
    expect(run.exitCode).toBe(0);
    for (const body of await served()) expect(body).toMatchObject({ version: 'n2' });
    expect(load.requests).toBeGreaterThan(100);
    expect({ errors: load.errors, non2xx: load.non2xx, samples: load.samples }).toEqual({ errors: 0, non2xx: 0, samples: [] });
  });

  it('systemctl reload (SIGHUP) replaces every worker one at a time under load, failing no request', async () => {
    const before = await Promise.all(hosts.map((h) => workerPids(h.address)));
    const { load } = await loadAll(async () => {
      for (const [i, h] of hosts.entries()) {
        // `systemctl reload` returns once the reload completed (ExecReload= waits: src/runtime/reload-wait.ts): a
        // new worker serves in every slot by then (the old ones may still be draining their last requests).
        await onHost(lab, h.address, `systemctl reload ${APP}.service`);
        const fresh = (await workers(h.address)).filter((pid) => !before[i]!.includes(pid));
        expect(fresh).toHaveLength(before[i]!.length);
      }
      for (const [i, h] of hosts.entries()) {
        await waitFor(async () => (await workerPids(h.address)).every((pid) => !before[i]!.includes(pid)));
      }
    });
    expect({ errors: load.errors, non2xx: load.non2xx, samples: load.samples }).toEqual({ errors: 0, non2xx: 0, samples: [] });
    for (const h of hosts) expect((await onHost(lab, h.address, `systemctl is-active ${APP}.service`)).trim()).toBe('active');
  });

  it('kill -9 of a worker: it is replaced and the service stays up', async () => {
    const h = hosts[0]!;
    const before = await workerPids(h.address);
    const restarts = (await onHost(lab, h.address, `systemctl show -p NRestarts --value ${APP}.service`)).trim();
    await onHost(lab, h.address, `kill -9 ${before[0]}`);
    await waitFor(async () => {
      const now = await workerPids(h.address);
      return now.length === before.length && !now.includes(before[0]!);
    });
    expect((await onHost(lab, h.address, `systemctl show -p NRestarts --value ${APP}.service`)).trim()).toBe(restarts);
    expect((await httpGet(h.address, PORT, '/readyz')).status).toBe(200);
  });

  it('kill -9 of every worker at once: the master replaces them on the socket it kept, no service restart (Debian\'s node 18)', async () => {
    const h = hosts[1]!;
    const master = (await onHost(lab, h.address, `systemctl show -p MainPID --value ${APP}.service`)).trim();
    const restarts = (await onHost(lab, h.address, `systemctl show -p NRestarts --value ${APP}.service`)).trim();
    const before = await workers(h.address);
    expect(before.length).toBeGreaterThan(0);
    // The requests wait in the socket's backlog while no worker listens, then the replacements answer them.
    const answers = await onHost(lab, h.address, `kill -9 ${before.join(' ')}; for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' -m 20 http://127.0.0.1:${PORT}/readyz; done`);
    expect(answers.trim().split(' ')).toEqual(Array(6).fill('200'));
    await waitFor(async () => {
      const now = await workers(h.address);
      return now.length === before.length && !now.some((pid) => before.includes(pid));
    });
    expect((await onHost(lab, h.address, `systemctl show -p MainPID --value ${APP}.service`)).trim()).toBe(master);
    expect((await onHost(lab, h.address, `systemctl show -p NRestarts --value ${APP}.service`)).trim()).toBe(restarts);
    expect(await journal(h.address)).not.toContain('no worker left on the socket');
  });

  it('a release that cannot boot is rolled back everywhere, under load, without a failed request', async () => {
    project.setVersion('n-broken', 'crash-on-import');
    const { result: run, load } = await loadAll(() => project.shipit(['deploy', 'production']));
    expect(run.exitCode).toBe(5);
    // The runtime's own reason (its "halting: …" line), not only systemd's "status=4".
    expect(run.all).toMatch(/app: .*halting: worker failed to boot: .*FAULT says crash-on-import/);
    for (const body of await served()) expect(body).toMatchObject({ version: 'n2' });
    expect({ errors: load.errors, non2xx: load.non2xx, samples: load.samples }).toEqual({ errors: 0, non2xx: 0, samples: [] });
    project.setVersion('n2');
  });

  it("a release whose ready() never settles fails on the runtime's boot timeout, before the restart limit, and is rolled back", async () => {
    project.setVersion('n-hang', 'hang-ready');
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(5);
    // healthyDeadline 20 s: the activation cuts the restart off at 15.0 s; the unit's SHIPIT_BOOT_TIMEOUT, 11.2 s,
    // ends the start first, so the deploy reports the runtime's reason.
    expect(run.all).toMatch(/app: .*halting: worker failed to boot: not serving after 11200 ms/);
    expect(run.all).not.toContain('did not finish restarting');
    for (const body of await served()) expect(body).toMatchObject({ version: 'n2' });
    project.setVersion('n2');
  });

  it('with sd-notify built for the hosts in the app, READY=1 goes through the binding', async () => {
    execFileSync('bash', [join(ROOT, 'scripts/build-sd-notify.sh'), project.appDir], { stdio: 'pipe' });
    project.setVersion('n3');
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(0);
    for (const h of hosts) {
      const log = await journal(h.address);
      expect(log.slice(log.lastIndexOf('shipit runtime master') - 200)).toContain('sd_notify: using the sd-notify binding');
    }
    for (const body of await served()) expect(body).toMatchObject({ version: 'n3' });
  });
});
