import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { readLab, type LabInfo } from './support/lab.js';
import { snapshotHost } from './support/ops.js';
import { Project } from './support/project.js';
import { onHost, wipeApp } from './support/remote.js';

/**
 * `shipit plan` and `shipit deploy --dry-run` on 3 lab hosts: they say what a deploy would do (hosts, batches,
 * files sent and reused, unit diffs, every remote command) and change NOTHING: each host's state (files and
 * their hashes and mtimes under /srv/<app>, the app's unit files, systemd's view of the units, the service
 * user, the lock) is identical before and after.
 */
const APP = 'e2e-plan';
const PORT = 8120;
const SECRET = 'plan-5ecret-value-never-shown';
jest.setTimeout(300_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;

interface PlanJson {
  release: string;
  batches: string[][];
  hosts: {
    host: string;
    current: string | null;
    files: { sent: number; reused: number; sentPaths: string[] } | null;
    units: { name: string; change: string; diff: string }[];
    env: { file: string; name: string; change: string }[] | null;
  }[];
  steps: { host: string; phase: string; label: string; command: string; readOnly: boolean }[];
  blockers: { host: string; code: string; message: string }[];
}

const snapshots = () => Promise.all(hosts.map((h) => snapshotHost(lab, h.address, APP)));

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 3);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  project = new Project(lab, { app: APP, port: PORT, hosts, secret: SECRET, rollout: '{ canary: 1, maxParallel: 1 }' });
});
afterAll(async () => {
  project?.cleanup();
  // Free the port and the hosts for other suites.
  if (hosts) await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
});

describe('shipit plan / deploy --dry-run', () => {
  it('on hosts never deployed to: everything would be sent and both units are new; nothing is created', async () => {
    project.setVersion('p1');
    const before = await snapshots();
    const run = await project.shipit(['plan', 'production', '--json']);
    expect(run.exitCode).toBe(0);
    expect(await snapshots()).toEqual(before);
    // (The service user may exist from an earlier run: wipeApp leaves users; the snapshot shows it unchanged.)
    for (const h of hosts) expect((await onHost(lab, h.address, `test -e /srv/${APP} && echo exists || echo absent`)).trim()).toBe('absent');

    const plan = JSON.parse(run.stdout) as PlanJson;
    expect(plan.batches).toEqual([['web1'], ['web2'], ['web3']]);
    for (const h of plan.hosts) {
      expect(h.current).toBeNull();
      expect(h.files!.reused).toBe(0);
      expect(h.files!.sent).toBeGreaterThan(3);
      expect(h.units.map((u) => [u.name, u.change])).toEqual([
        [`${APP}.socket`, 'new'],
        [`${APP}.service`, 'new'],
      ]);
      expect(h.env).toEqual([
        { file: 'env', name: 'LOG_LEVEL', change: 'added' },
        { file: 'env', name: 'RELEASE_NOTE', change: 'added' },
        { file: 'secrets', name: 'API_TOKEN', change: 'added' },
      ]);
    }
    // The mutating steps of a deploy, in order, with their exact command lines; the revert would deactivate.
    expect([...new Set(plan.steps.filter((s) => !s.readOnly && s.host === 'web2').map((s) => `${s.phase}: ${s.label.replace(plan.release, 'ID')}`))]).toEqual([
      'lock: lock',
      'prepare: stage',
      'rollout: activate ID',
      'finish: mark ID good, unlock',
      'revert: deactivate',
    ]);
    expect(plan.steps.find((s) => s.label === `activate ${plan.release}`)!.command).toMatch(/^sudo -n sh -c 'set -u\nD=\/srv\/e2e-plan\n/);
    expect(run.all).not.toContain(SECRET);
  });

  it('after a deploy: only the changed file would be sent, the unit diff shows the new worker count; text output; nothing changes', async () => {
    const first = await project.shipit(['deploy', 'production']);
    expect(first.exitCode).toBe(0);
    project.setVersion('p2');
    // 2 → 3 workers changes the service unit.
    const config = join(project.dir, 'deploy.config.ts');
    writeFileSync(config, readFileSync(config, 'utf8').replace('workers: 2,', 'workers: 3,'));

    const before = await snapshots();
    const run = await project.shipit(['plan', 'production']);
    expect(run.exitCode).toBe(0);
    const dry = await project.shipit(['deploy', 'production', '--dry-run', '--json']);
    expect(dry.exitCode).toBe(0);
    expect(await snapshots()).toEqual(before);

    const text = run.stdout;
    expect(text).toMatch(/^plan: deploy \S+ to production \(3 hosts\); nothing was changed on any host$/m);
    expect(text).toMatch(/^  web1  now on \S+; send 1 file, reuse \d+ from \S+; units: e2e-plan\.service changed$/m);
    expect(text).toContain('batches: 1) web1  2) web2  3) web3');
    expect(text).toContain('web1, web2, web3: /etc/systemd/system/e2e-plan.service (changed)');
    expect(text).toMatch(/^-.*--workers "\$\$\{WORKERS:-2\}"/m);
    expect(text).toMatch(/^\+.*--workers "\$\$\{WORKERS:-3\}"/m);
    expect(text).toContain('web1, web2, web3: app/VERSION');
    expect(text).toContain('== rollout, batch 2 ==');
    expect(text).toMatch(/# web1, web2, web3: stage {2}\(stdin: secrets\.env \(\d+ variable\(s\), values never shown\); \d+ path\(s\) of \d+T\d+Z not reused; manifest lines of 1 file\(s\) sent; gzipped tar of 1 file\(s\)/);
    expect(text).not.toContain(SECRET);

    const plan = JSON.parse(dry.stdout) as PlanJson;
    for (const h of plan.hosts) expect(h.files).toMatchObject({ sent: 1, sentPaths: ['app/VERSION'] });
    // What the plan says the unit will be is what the deploy then installs.
    const deployed = await project.shipit(['deploy', 'production']);
    expect(deployed.exitCode).toBe(0);
    // The snapshot does see a real change (it is not blind).
    expect(await snapshots()).not.toEqual(before);
    const installed = await onHost(lab, hosts[0]!.address, `cat /etc/systemd/system/${APP}.service`);
    expect(installed).toMatch(/--workers "\$\$\{WORKERS:-3\}"/);
    const again = JSON.parse((await project.shipit(['plan', 'production', '--json'])).stdout) as PlanJson;
    for (const h of again.hosts) expect(h.units.every((u) => u.change === 'unchanged')).toBe(true);
  });

  it('a rotated secret and a changed env value: named per host, never shown, nor their lengths; nothing changes', async () => {
    const rotated = 'plan-r0tated-5ecret-value-longer-than-before';
    const before = await snapshots();
    const env = { E2E_API_TOKEN: rotated, E2E_RELEASE_NOTE: 'rotation' };
    const run = await project.shipit(['plan', 'production', '--verbose'], env);
    const json = await project.shipit(['plan', 'production', '--json'], env);
    expect([run.exitCode, json.exitCode]).toEqual([0, 0]);
    expect(await snapshots()).toEqual(before);
    expect(run.stdout).toContain(
      'shared/env and shared/secrets.env against what each host has now (names only, never values):\n  web1, web2, web3: env: RELEASE_NOTE changed; secrets: API_TOKEN changed\n',
    );
    for (const h of (JSON.parse(json.stdout) as PlanJson).hosts) {
      expect(h.env).toEqual([
        { file: 'env', name: 'RELEASE_NOTE', change: 'changed' },
        { file: 'secrets', name: 'API_TOKEN', change: 'changed' },
      ]);
    }
    for (const text of [run.all, json.all]) {
      expect(text).not.toContain(rotated);
      expect(text).not.toContain(SECRET);
      // secrets.env is `API_TOKEN="…"\n`: its byte count appears in no command.
      for (const secret of [rotated, SECRET]) expect(text).not.toContain(`head -c ${Buffer.byteLength(`API_TOKEN="${secret}"\n`)} `);
    }
    // The same config as deployed: nothing to say.
    expect((await project.shipit(['plan', 'production'])).stdout).toContain('  web1, web2, web3: unchanged\n');
  });

  it('a held lock: the plan still prints, names the holder as what would stop the deploy, exits 4, changes nothing', async () => {
    const locked = await project.shipit(['lock', 'acquire', 'production', '-m', 'plan-test window']);
    expect(locked.exitCode).toBe(0);
    const before = await snapshots();
    const run = await project.shipit(['plan', 'production']);
    expect(run.exitCode).toBe(4);
    expect(run.stdout).toMatch(/a deploy now would stop before changing anything:\n {2}! web1: deploy lock held by .*plan-test window/);
    expect(run.stderr).toMatch(/error: a deploy now would fail: web1: deploy lock held by/);
    expect(await snapshots()).toEqual(before);
    expect((await project.shipit(['lock', 'release', 'production'])).exitCode).toBe(0);
  });

  it("a port another service listens on (sshd's 22): a missing prerequisite, exit 5, before anything is written", async () => {
    const before = await snapshots();
    try {
      project.writeConfig({ port: 22 });
      const run = await project.shipit(['plan', 'production']);
      expect(run.exitCode).toBe(5);
      expect(run.stdout).toContain("port 22 is already in use on this host by another service (`ss -ltnp 'sport = :22'` names it)");
    } finally {
      project.writeConfig();
    }
    expect(await snapshots()).toEqual(before);
  });

  it('a worker class its module does not define: a missing prerequisite, exit 5, found without importing it; gunicorn\'s own class needs no module', async () => {
    const before = await snapshots();
    try {
      project.writeConfig({ server: "workerClass: 'uvicorn.workers.NopeWorker'," });
      const run = await project.shipit(['plan', 'production']);
      expect(run.exitCode).toBe(5);
      expect(run.stdout).toContain('uvicorn.workers defines no NopeWorker (server.workerClass: check the spelling');
      project.writeConfig({ server: "workerClass: 'sync'," });
      const sync = await project.shipit(['plan', 'production']);
      expect([sync.exitCode, sync.all]).toEqual([0, expect.not.stringContaining('is not installed') as unknown as string]);
    } finally {
      project.writeConfig();
    }
    expect(await snapshots()).toEqual(before);
  });
});
