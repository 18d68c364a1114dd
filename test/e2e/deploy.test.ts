import { readLab, type LabInfo } from './support/lab.js';
import { startLoad, underLoad } from './support/load.js';
import { waitFor } from './support/ops.js';
import { Project } from './support/project.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';
import { jest } from '@jest/globals';

/**
 * The product, end to end on 3 real hosts, driving the built `shipit` binary as CI would, with continuous
 * bounded load on every host during each deploy: zero failed requests is part of every assertion.
 */
const APP = 'e2e-deploy';
const PORT = 8100;
jest.setTimeout(300_000);

let lab: LabInfo;
let project: Project;
let hosts: LabInfo['hosts'];

const served = async () =>
  Promise.all(hosts.map(async (h) => (await httpGet(h.address, PORT, '/readyz')).body as { release: string; version: string }));
const releaseIdOf = (output: string) => /deploying (\S+) /.exec(output)?.[1];
const loadAll = <T>(body: () => Promise<T>) => underLoad(hosts.map((h) => ({ address: h.address, port: PORT, path: '/' })), body);
/** What each host's shared/ holds, and what its running service was started with (its main process's environment). */
const envs = () =>
  Promise.all(
    hosts.map(async (h) => {
      const out = await onHost(
        lab,
        h.address,
        `grep -h '^RELEASE_NOTE=\\|^API_TOKEN=' /srv/${APP}/shared/env /srv/${APP}/shared/secrets.env; ` +
          `tr '\\0' '\\n' < /proc/$(systemctl show -p MainPID --value ${APP}.service)/environ | grep '^RELEASE_NOTE=\\|^API_TOKEN='`,
      );
      return out.trim().split('\n').sort();
    }),
  );
const runningWith = (note: string, token: string) => [`RELEASE_NOTE="${note}"`, `API_TOKEN="${token}"`, `RELEASE_NOTE=${note}`, `API_TOKEN=${token}`].sort();
const SECOND_TOKEN = 'tok-e2e-second-5ecret';
const BAD_TOKEN = 'tok-e2e-bad-5ecret';
const meta = async (address: string, id: string) => JSON.parse(await onHost(lab, address, `cat /srv/${APP}/.shipit/releases/${id}/meta.json`)) as { state: string };

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 3);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  project = new Project(lab, { app: APP, port: PORT, hosts });
});
afterAll(async () => {
  project?.cleanup();
  // Leave the shared lab hosts as we found them: other suites deploy their own apps there.
  if (lab) await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
});

describe('shipit deploy on 3 lab hosts', () => {
  let first: string;
  let second: string;

  it('first deploy to clean hosts: every host serves it, units hardened, secrets 0600', async () => {
    project.setVersion('v1');
    const run = await project.shipit(['deploy', 'production', '--verbose']);
    expect(run.all).toMatch(/deploy of \S+ succeeded on 3 host/);
    expect(run.exitCode).toBe(0);
    first = releaseIdOf(run.all)!;
    // Every activation and every host's finish ran in a shell started before it (off the critical path).
    expect(run.all.match(new RegExp(`\\[web\\d\\] activate ${first}: exit 0 in \\S+ \\(warm shell\\)`, 'g'))).toHaveLength(3);
    expect(run.all.match(new RegExp(`\\[web\\d\\] mark ${first} good.*unlock: exit 0 in \\S+ \\(warm shell\\)`, 'g'))).toHaveLength(3);
    for (const body of await served()) expect(body).toMatchObject({ release: first, version: 'v1' });
    const h = hosts[0]!.address;
    expect((await onHost(lab, h, `stat -c '%a %U' /srv/${APP}/shared/secrets.env`)).trim()).toBe(`600 ${APP}`);
    // The plain env: the service's group reads it, root owns it (given in the stage's one chown -R).
    expect((await onHost(lab, h, `stat -c '%a %U:%G' /srv/${APP}/shared/env /srv/${APP}/.shipit/releases/${first}/env`)).trim().split('\n')).toEqual([`640 root:${APP}`, `640 root:${APP}`]);
    // The release is the service's to read, nobody else's.
    const reads = (user: string) => onHost(lab, h, `runuser -u ${user} -- cat /srv/${APP}/current/app/main.py > /dev/null 2>&1 && echo reads || echo denied`);
    expect([(await reads(APP)).trim(), (await reads('nobody')).trim()]).toEqual(['reads', 'denied']);
    expect((await onHost(lab, h, `readlink /srv/${APP}/current`)).trim()).toBe(`releases/${first}`);
    expect((await onHost(lab, h, `systemctl is-active ${APP}.socket ${APP}.service`)).trim().split('\n')).toEqual(['active', 'active']);
    expect(await meta(h, first)).toMatchObject({ state: 'good' });
    // Process titles name the app and the role (the lab hosts have no python3-setproctitle: the preset's own).
    const main = (await onHost(lab, h, `systemctl show -p MainPID --value ${APP}.service`)).trim();
    const titles = (await onHost(lab, h, `ps -o args= -p ${main}; ps -o args= --ppid ${main}`)).trim().split('\n');
    expect(titles).toEqual([`gunicorn: master [${APP}]`, `gunicorn: worker [${APP}]`, `gunicorn: worker [${APP}]`]);
    // The app can keep state (a SQLite file): $STATE_DIRECTORY, the one persistent path its sandbox mounts writable.
    const sandbox = await onHost(
      lab,
      h,
      `pid=$(systemctl show -p MainPID --value ${APP}.service); tr '\\0' '\\n' < /proc/$pid/environ | grep '^STATE_DIRECTORY='; ` +
        `awk '$5 == "/" || $5 == "/var/lib/${APP}" { print $5, substr($6, 1, 2) }' /proc/$pid/mountinfo; stat -c '%U %a' /var/lib/${APP}`,
    );
    expect(sandbox.trim().split('\n')).toEqual([`STATE_DIRECTORY=/var/lib/${APP}`, '/ ro', `/var/lib/${APP} rw`, `${APP} 750`]);
    expect(run.all).not.toContain('tok-e2e-5ecret-value');
    for (const env of await envs()) expect(env).toEqual(runningWith('none', 'tok-e2e-5ecret-value'));
  });

  it('a second deploy under load sends only the changed file, and no request fails', async () => {
    project.setVersion('v2');
    const { result: run, load } = await loadAll(() => project.shipit(['deploy', 'production', '--json', '--verbose'], { E2E_RELEASE_NOTE: 'second', E2E_API_TOKEN: SECOND_TOKEN }));
    expect(run.exitCode).toBe(0);
    expect(run.all).not.toContain(SECOND_TOKEN);
    // The lock staged the release: the warm shells start from prepare on, and every activation ran in one.
    expect(run.stderr.match(/\[web\d\] lock, stage \S+: exit 0 in \S+$/gm)).toHaveLength(3);
    expect(run.stderr.match(/\[web\d\] activate \S+: exit 0 in \S+ \(warm shell\)$/gm)).toHaveLength(3);
    const events = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const prepared = events.filter((e) => e.type === 'host.prepared');
    expect(prepared).toHaveLength(3);
    for (const e of prepared) {
      expect(e.filesSent).toBe(1);
      expect(e.filesReused).toBeGreaterThan(0);
      // Staged by the lock command: the first deploy left the hosts on the release this deployer remembers.
      expect(e.withLock).toBe(true);
      // One small file, gzipped in a tar, plus the commands and manifests: a few kB, not the artifact.
      expect(e.bytesSent as number).toBeLessThan(40_000);
    }
    second = (events.find((e) => e.type === 'rollout.finished') as { release: string }).release;
    for (const body of await served()) expect(body).toMatchObject({ release: second, version: 'v2' });
    for (const env of await envs()) expect(env).toEqual(runningWith('second', SECOND_TOKEN));
    expect(load.requests).toBeGreaterThan(100);
    expect({ errors: load.errors, non2xx: load.non2xx, samples: load.samples }).toEqual({ errors: 0, non2xx: 0, samples: [] });
  });

  it('30 restarts of one host under ~1,000 req/s lose no request (a stopping worker answers what it accepted)', async () => {
    // Until 84c3010 a gunicorn worker dropped a connection accepted just before asyncio's Server.close(), and the
    // worker's exit reset it: 12 of 22,577 requests over 30 restarts at this rate (the deploys' lighter load above
    // met it about once in 50,000). A restart that systemd fails (status 219 on a busy machine) is tried again.
    const [web1] = hosts as [LabInfo['hosts'][0]];
    const restarts = [
      'for i in $(seq 30); do',
      `  systemctl restart ${APP}.service || systemctl restart ${APP}.service`,
      `  n=0; until curl -sf -o /dev/null http://127.0.0.1:${PORT}/readyz; do n=$((n + 1)); [ $n -lt 300 ] || exit 1; sleep 0.05; done`,
      '  sleep 0.3',
      'done',
    ].join('\n');
    const load = startLoad([{ address: web1.address, port: PORT, path: '/' }], { concurrency: 12 });
    try {
      await onHost(lab, web1.address, restarts);
    } finally {
      await load.stop();
    }
    expect(load.report.requests).toBeGreaterThan(5_000);
    expect({ errors: load.report.errors, non2xx: load.report.non2xx, samples: load.report.samples }).toEqual({ errors: 0, non2xx: 0, samples: [] });
  });

  it('a restart while the app is still starting up (a revert or Ctrl-C during a slow startup) loses no request', async () => {
    // uvicorn's serve() returned without its shutdown when the stop came during the lifespan startup, and the
    // connections its servers had just accepted from the queue were reset at exit: 17 of 453 requests over 3 such
    // restarts in a trial (Ctrl-C during a deploy's restart). web1 starts its workers 1.5 s late for this test.
    const [web1] = hosts as [LabInfo['hosts'][0]];
    const dropIn = `/etc/systemd/system/${APP}.service.d/e2e-startup-delay.conf`;
    await onHost(lab, web1.address, `mkdir -p ${dropIn.replace(/\/[^/]+$/, '')} && printf '[Service]\\nEnvironment=STARTUP_DELAY=1.5\\n' > ${dropIn} && systemctl daemon-reload`);
    const load = startLoad([{ address: web1.address, port: PORT, path: '/' }], { concurrency: 4 });
    try {
      await onHost(lab, web1.address, `for i in 1 2 3; do systemctl restart ${APP}.service & sleep 1; systemctl restart ${APP}.service; wait; sleep 2; done`);
    } finally {
      await load.stop();
      await onHost(lab, web1.address, `rm -f ${dropIn} && systemctl daemon-reload && systemctl restart ${APP}.service`);
    }
    expect(load.report.requests).toBeGreaterThan(100);
    expect({ errors: load.report.errors, non2xx: load.report.non2xx, samples: load.report.samples }).toEqual({ errors: 0, non2xx: 0, samples: [] });
  });

  it.each(['never-ready', 'crash-on-import'] as const)('a %s release is rolled back everywhere, with its env, under load, without a failed request', async (fault) => {
    project.setVersion(`bad-${fault}`, fault);
    // It changes the env and a secret too: the hosts must end up running the env of the release they ran before.
    const { result: run, load } = await loadAll(() => project.shipit(['deploy', 'production'], { E2E_RELEASE_NOTE: 'bad', E2E_API_TOKEN: BAD_TOKEN }));
    expect(run.exitCode).toBe(5);
    expect(run.all).toMatch(/every host is back on the release it ran before/);
    expect(run.all).not.toContain(BAD_TOKEN);
    // The app's own reason, not only systemd's "status=3" (gunicorn's worker traceback ends in it).
    if (fault === 'crash-on-import') expect(run.all).toMatch(/the app said: .*RuntimeError: app\/FAULT says crash-on-import/);
    // What the app answered its readiness probe, not only the status: the last failing answer's body.
    if (fault === 'never-ready') expect(run.all).toMatch(/web1 +FAILED on \S+: not ready within 20s: GET \/readyz answered 503: \{"status":"not-ready","reason":"app\/FAULT says never-ready"\}$/m);
    const bad = releaseIdOf(run.all)!;
    for (const body of await served()) expect(body).toMatchObject({ release: second, version: 'v2' });
    for (const env of await envs()) expect(env).toEqual(runningWith('second', SECOND_TOKEN));
    for (const h of hosts) expect(await meta(h.address, bad)).toMatchObject({ state: 'bad' });
    expect({ errors: load.errors, non2xx: load.non2xx, samples: load.samples }).toEqual({ errors: 0, non2xx: 0, samples: [] });
    project.setVersion('v2');
  });

  it('shipit rollback returns to the previous good release, skipping bad ones; --to picks one', async () => {
    const { result: back, load } = await loadAll(() => project.shipit(['rollback', 'production', '--verbose']));
    expect(back.exitCode).toBe(0);
    // No prepare in a rollback: the warm shells start after its lock, and every activation ran in one.
    expect(back.all.match(new RegExp(`\\[web\\d\\] activate ${first}: exit 0 in \\S+ \\(warm shell\\)`, 'g'))).toHaveLength(3);
    for (const body of await served()) expect(body).toMatchObject({ release: first, version: 'v1' });
    for (const env of await envs()) expect(env).toEqual(runningWith('none', 'tok-e2e-5ecret-value'));
    const to = await project.shipit(['rollback', 'production', '--to', second]);
    expect(to.exitCode).toBe(0);
    for (const body of await served()) expect(body).toMatchObject({ release: second });
    for (const env of await envs()) expect(env).toEqual(runningWith('second', SECOND_TOKEN));
    expect({ errors: load.errors, non2xx: load.non2xx }).toEqual({ errors: 0, non2xx: 0 });
  });

  it('shipit status shows every host on the same release, ready, with workers', async () => {
    const run = await project.shipit(['status', 'production', '--json']);
    expect(run.exitCode).toBe(0);
    const status = JSON.parse(run.stdout) as { hosts: { host: string; current: string; ready: number; workers: number; unit: string }[] };
    expect(status.hosts.map((h) => [h.host, h.current, h.ready, h.unit])).toEqual(hosts.map((h) => [h.name, second, 200, 'active/running']));
    for (const h of status.hosts) expect(h.workers).toBe(2);
    const table = await project.shipit(['status', 'production']);
    expect(table.stdout).toMatch(/^HOST\s+RELEASE\s+UNIT/);
  });

  it('a second deploy while one runs is refused with the holder; Ctrl-C mid-rollout restores and unlocks', async () => {
    project.setVersion('v3');
    const running = project.shipit(['deploy', 'production', '-m', 'first one']);
    // Wait until the first run holds the lock and is rolling, then try a second deploy.
    await waitFor(async () => (await onHost(lab, hosts[0]!.address, `cat /srv/${APP}/.shipit/lock/info.json 2>/dev/null || true`)).includes('first one'));
    const refused = await project.shipit(['deploy', 'production']);
    expect(refused.exitCode).toBe(4);
    expect(refused.all).toMatch(/deploy lock held by .*first one/);
    await waitFor(async () => (await onHost(lab, hosts[0]!.address, `readlink /srv/${APP}/current`)).trim() !== `releases/${second}`);
    running.kill('SIGINT');
    const run = await running;
    expect(run.exitCode).toBe(5);
    expect(run.all).toMatch(/interrupted by SIGINT/);
    // Stopped by the operator, not failed: marked interrupted (rollback --to may pick it), and the hint says so.
    expect(run.all).toMatch(/marked interrupted \(not bad\)/);
    const stopped = releaseIdOf(run.all)!;
    for (const h of hosts) expect(await meta(h.address, stopped)).toMatchObject({ state: 'interrupted' });
    for (const body of await served()) expect(body).toMatchObject({ release: second });
    for (const h of hosts) expect((await onHost(lab, h.address, `ls -A /srv/${APP}/.shipit`)).split('\n')).not.toContain('lock');
  });

  it('a deploy right after a rollback stages with the lock: the rollback remembered what the hosts run', async () => {
    const back = await project.shipit(['rollback', 'production']);
    expect(back.exitCode).toBe(0);
    for (const body of await served()) expect(body).toMatchObject({ release: first });
    project.setVersion('v4');
    const run = await project.shipit(['deploy', 'production', '--json', '--verbose']);
    expect(run.exitCode).toBe(0);
    // One command locks and stages on each host (it was a lock, then a stage of its own, after any rollback).
    expect(run.stderr.match(/\[web\d\] lock, stage \S+: exit 0 in \S+$/gm)).toHaveLength(3);
    expect(run.stderr).not.toMatch(/\[web\d\] stage: exit/);
    const prepared = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.type === 'host.prepared');
    expect(prepared.map((e) => e.withLock)).toEqual(hosts.map(() => true));
  });
});
