import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLab, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';
import { onHost, wipeApp } from './support/remote.js';
import { jest } from '@jest/globals';

/** Things going wrong before anything may change: host keys, bad config, secrets. Driven through the binary. */
const APP = 'e2e-safety';
const PORT = 8101;
jest.setTimeout(120_000);
const SECRET = 'sk-live-0f9e8d7c6b5a-never-print';

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;
const tmp = mkdtempSync(join(tmpdir(), 'shipit-keys-'));
const untouched = async () => {
  for (const h of hosts) expect((await onHost(lab, h.address, `test -e /srv/${APP} && echo touched || echo clean`)).trim()).toBe('clean');
};

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 2);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  project = new Project(lab, { app: APP, port: PORT, hosts, secret: SECRET });
});
afterAll(async () => {
  project?.cleanup();
  // Leave the shared lab hosts as we found them: other suites deploy their own apps there.
  if (lab) await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
});

describe('host keys are checked strictly', () => {
  it('an unknown host is refused with its fingerprint and how to accept it; nothing is touched', async () => {
    const empty = join(tmp, 'empty_known_hosts');
    writeFileSync(empty, '');
    project.writeConfig({ knownHostsFile: empty });
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(3);
    expect(run.all).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(run.all).toMatch(/--accept-new-host-keys/);
    await untouched();
  });

  it('--accept-new-host-keys records unknown hosts (hashed) and then connects', async () => {
    const file = join(tmp, 'new_known_hosts');
    writeFileSync(file, '');
    project.writeConfig({ knownHostsFile: file });
    const run = await project.shipit(['status', 'production', '--accept-new-host-keys']);
    expect(run.exitCode).toBe(0);
    const recorded = readFileSync(file, 'utf8').trim().split('\n');
    expect(recorded.length).toBeGreaterThanOrEqual(2);
    for (const line of recorded) expect(line).toMatch(/^\|1\|/);
    // Now known: works without the flag.
    expect((await project.shipit(['status', 'production'])).exitCode).toBe(0);
  });

  it('a changed host key is refused loudly, even with --accept-new-host-keys', async () => {
    const original = readFileSync(lab.knownHostsFile, 'utf8').split('\n');
    const [a, b] = [hosts[0]!.address, hosts[1]!.address];
    // Claim that the first host's address has the second host's keys.
    const forged = original
      .filter((l) => !l.startsWith(`${a} `))
      .concat(original.filter((l) => l.startsWith(`${b} `)).map((l) => l.replace(`${b} `, `${a} `)));
    const file = join(tmp, 'forged_known_hosts');
    writeFileSync(file, forged.join('\n'));
    project.writeConfig({ knownHostsFile: file });
    for (const args of [['deploy', 'production'], ['deploy', 'production', '--accept-new-host-keys']]) {
      const run = await project.shipit(args);
      expect(run.exitCode).toBe(3);
      expect(run.all).toMatch(/CHANGED/i);
      expect(run.all).toContain(a);
    }
    await untouched();
    project.writeConfig({ knownHostsFile: lab.knownHostsFile });
  });
});

describe('bad input fails before any host is touched', () => {
  it('a config error names the field and what is expected', async () => {
    project.writeConfig({ hosts: [hosts[0]!, { ...hosts[1]!, address: 'web 2' }] });
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(2);
    expect(run.all).toContain('environments.production.hosts[1]');
    expect(run.all).toContain('"web 2"');
    await untouched();
    project.writeConfig({ hosts });
  });

  it('an unreachable host fails the deploy before anything changes anywhere', async () => {
    project.writeConfig({ hosts: [hosts[0]!, { name: 'ghost', address: '10.213.37.250', users: ['root'], sshPort: 22 } as never] });
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(3);
    expect(run.all).toMatch(/10\.213\.37\.250/);
    await untouched();
    project.writeConfig({ hosts });
  });
});

describe("an app named like a unit shipit did not write", () => {
  it("is refused before anything is installed: a package's unit (ssh), an alias (sshd), one the admin wrote", async () => {
    const h = hosts[0]!;
    await onHost(lab, h.address, 'printf "[Service]\\nExecStart=/bin/true\\n" > /etc/systemd/system/e2e-admins.service');
    try {
      for (const app of ['ssh', 'sshd', 'e2e-admins']) {
        project.writeConfig({ app, hosts: [h] });
        const run = await project.shipit(['deploy', 'production']);
        expect(run.exitCode).toBe(5);
        expect(run.all).toContain(`${app}.service or ${app}.socket is already a unit on this host that shipit did not write`);
        expect(run.all).toContain('choose another `app` name');
      }
      // OpenSSH's units are as they were, and sshd still serves (this test logged in after each try).
      expect((await onHost(lab, h.address, 'ls /etc/systemd/system/ssh.service /etc/systemd/system/ssh.socket 2>&1 | grep -c "No such file"; readlink /etc/systemd/system/sshd.service; cat /etc/systemd/system/e2e-admins.service | head -1; systemctl is-active ssh.service')).trim().split('\n')).toEqual(['2', '/lib/systemd/system/ssh.service', '[Service]', 'active']);
    } finally {
      await onHost(lab, h.address, 'rm -f /etc/systemd/system/e2e-admins.service; rm -rf /srv/ssh /srv/sshd /srv/e2e-admins');
      project.writeConfig({ hosts });
    }
  });
});

describe('a non-root user without sudo rights', () => {
  it('is told which sudo rule is missing, and nothing is touched', async () => {
    const h = hosts[0]!;
    await onHost(
      lab,
      h.address,
      'id -u nosudo >/dev/null 2>&1 || useradd -m -s /bin/sh nosudo; install -d -m 700 -o nosudo -g nosudo ~nosudo/.ssh; ' +
        'install -m 600 -o nosudo -g nosudo /root/.ssh/authorized_keys ~nosudo/.ssh/authorized_keys',
    );
    project.writeConfig({ hosts: [h], user: 'nosudo' });
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(3);
    expect(run.all).toMatch(/nosudo may not run privileged steps with sudo without a password/);
    expect(run.all).toMatch(/nosudo ALL=\(root\) NOPASSWD: \/bin\/sh/);
    await untouched();
    project.writeConfig({ hosts });
  });
});

describe('secrets', () => {
  it('never appear in any output, even --verbose and --json, nor in the hosts\' journal; the file is 0600', async () => {
    project.setVersion('s1');
    const outputs: string[] = [];
    for (const args of [['deploy', 'production', '--verbose'], ['deploy', 'production', '--json'], ['status', 'production', '--verbose']]) {
      const run = await project.shipit(args);
      expect(run.exitCode).toBe(0);
      outputs.push(run.all);
    }
    for (const text of outputs) expect(text).not.toContain(SECRET);
    for (const h of hosts) {
      expect(await onHost(lab, h.address, `journalctl --no-pager -q | grep -c ${SECRET} || true`)).toBe('0\n');
      expect((await onHost(lab, h.address, `stat -c %a /srv/${APP}/shared/secrets.env; grep -c ${SECRET} /srv/${APP}/shared/secrets.env`)).split('\n').slice(0, 2)).toEqual(['600', '1']);
    }
  });
});
