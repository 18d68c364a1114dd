// The lab itself, checked from outside as a deploy would use it: real hosts, reached with OpenSSH under strict
// host key checking, with the runtime pieces shipit deploys onto them. Needs `npm run lab -- up 3`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { labSsh, readLab, type LabHost, type LabInfo } from './support/lab.js';

let lab: LabInfo;
let scratch: string;

beforeAll(() => {
  lab = readLab();
  scratch = mkdtempSync(path.join(tmpdir(), 'shipit-lab-test-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const hosts = (): LabHost[] => lab.hosts;

async function sh(host: LabHost, command: string, user: 'root' | 'deploy' = 'root'): Promise<string> {
  const result = await labSsh(lab, host, user, command);
  if (result.exitCode !== 0) throw new Error(`${user}@${host.name}: \`${command}\` exited ${result.exitCode}: ${result.stderr}`);
  return result.stdout.trim();
}

describe('the lab description', () => {
  it('lists at least two hosts with distinct addresses in the lab subnet', () => {
    expect(lab.hosts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(lab.hosts.map((h) => h.address)).size).toBe(lab.hosts.length);
    for (const host of lab.hosts) {
      expect(host.address).toMatch(/^10\.213\.37\.\d+$/);
      expect(host.users).toEqual(['root', 'deploy']);
      expect(host.sshPort).toBe(22);
    }
    expect(lab.subnet).toBe('10.213.37.0/24');
  });
});

describe('ssh access', () => {
  it('logs in as root and as deploy on every host, under strict host key checking', async () => {
    for (const host of hosts()) {
      expect(await sh(host, 'id -un; hostname', 'root')).toBe(`root\n${host.name}`);
      expect(await sh(host, 'id -un', 'deploy')).toBe('deploy');
    }
  }, 60_000);

  it('lets deploy run privileged commands with sudo -n (no password prompt)', async () => {
    for (const host of hosts()) {
      expect(await sh(host, 'sudo -n true && sudo -n id -u', 'deploy')).toBe('0');
    }
  }, 60_000);

  it('refuses a host whose key is not in known_hosts', async () => {
    const empty = path.join(scratch, 'empty_known_hosts');
    writeFileSync(empty, '');
    const result = await labSsh(lab, hosts()[0]!, 'root', 'true', { knownHostsFile: empty });
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toMatch(/Host key verification failed/);
  });

  it("refuses a host presenting another host's key (known_hosts entry for a different key)", async () => {
    const [a, b] = hosts() as [LabHost, LabHost];
    const { stdout } = await execa('ssh-keygen', ['-F', b.address, '-f', lab.knownHostsFile]);
    const swapped = stdout
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.replace(b.address, a.address))
      .join('\n');
    const file = path.join(scratch, 'swapped_known_hosts');
    writeFileSync(file, `${swapped}\n`);
    const result = await labSsh(lab, a, 'root', 'true', { knownHostsFile: file });
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('allows keys only: no password logins, root by key only', async () => {
    const config = await sh(hosts()[0]!, 'sshd -T');
    expect(config).toMatch(/^permitrootlogin without-password$/m);
    expect(config).toMatch(/^passwordauthentication no$/m);
    expect(config).toMatch(/^kbdinteractiveauthentication no$/m);
  });
});

describe('host identity', () => {
  it('gives every host its own host keys (fingerprints differ) and machine-id', async () => {
    const fingerprints: string[] = [];
    const machineIds: string[] = [];
    for (const host of hosts()) {
      const out = await sh(host, 'for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$f"; done');
      const prints = out.split('\n').map((line) => line.split(/\s+/)[1]!);
      expect(prints).toHaveLength(3); // ecdsa, ed25519, rsa
      fingerprints.push(...prints);
      machineIds.push(await sh(host, 'cat /etc/machine-id'));
    }
    expect(new Set(fingerprints).size).toBe(fingerprints.length);
    expect(new Set(machineIds).size).toBe(machineIds.length);
  }, 60_000);

  it("lists in known_hosts exactly the keys each host presents", async () => {
    for (const host of hosts()) {
      const presented = (await sh(host, 'cat /etc/ssh/ssh_host_*_key.pub')).split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));
      const { stdout } = await execa('ssh-keygen', ['-F', host.address, '-f', lab.knownHostsFile]);
      const known = stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ').slice(1, 3).join(' '));
      expect(known.sort()).toEqual(presented.sort());
    }
  }, 60_000);
});

describe('host runtime', () => {
  it('has booted systemd fully: is-system-running says running', async () => {
    for (const host of hosts()) {
      // On anything else, show the failed units (another suite may have left one behind).
      const result = await labSsh(lab, host, 'root', 'systemctl is-system-running || systemctl --failed --no-legend --plain');
      expect({ host: host.name, state: result.stdout.trim() }).toEqual({ host: host.name, state: 'running' });
    }
  }, 60_000);

  it('does not run systemd-sysusers at boot (/etc is stamped up to date; the rootfs already has its users)', async () => {
    for (const host of hosts()) {
      const result = await labSsh(lab, host, 'root', 'systemctl show -p ConditionResult -p ActiveState systemd-sysusers.service; systemd-sysusers --dry-run');
      expect({ host: host.name, out: result.stdout.trim() }).toEqual({ host: host.name, out: 'ActiveState=inactive\nConditionResult=no' });
    }
  }, 60_000);

  it('has gunicorn, uvicorn + fastapi, and node', async () => {
    for (const host of hosts()) {
      expect(await sh(host, 'gunicorn --version')).toMatch(/^gunicorn \(version 20\.\d+\.\d+\)$/);
      expect(await sh(host, "python3 -c 'import fastapi, uvicorn; print(fastapi.__version__, uvicorn.__version__)'")).toMatch(/^0\.\d+\.\d+ 0\.\d+\.\d+$/);
      expect(await sh(host, 'node --version')).toMatch(/^v\d+\.\d+\.\d+$/);
      expect(await sh(host, 'command -v rsync curl sudo')).toBe('/usr/bin/rsync\n/usr/bin/curl\n/usr/bin/sudo');
    }
  }, 60_000);
});

describe('network', () => {
  it('reaches every host from the root namespace (TCP to sshd)', async () => {
    for (const host of hosts()) {
      const { stdout } = await execa('bash', ['-c', `exec 3<>/dev/tcp/${host.address}/22 && head -c 8 <&3`], { timeout: 5_000 });
      expect(stdout).toBe('SSH-2.0-');
    }
  });

  it('lets hosts reach each other by address and by name', async () => {
    const [a, b] = hosts() as [LabHost, LabHost];
    for (const target of [b.address, b.name]) {
      const banner = await sh(a, `timeout 5 bash -c 'exec 3<>/dev/tcp/${target}/22 && head -c 8 <&3'`);
      expect(banner).toBe('SSH-2.0-');
    }
  });

  it('does not lose its address when systemd-networkd would start (masked)', async () => {
    const host = hosts()[0]!;
    expect(await sh(host, 'systemctl is-enabled systemd-networkd.service || true')).toBe('masked');
    expect(await sh(host, 'ip -4 -o addr show dev eth0')).toContain(`inet ${host.address}/24`);
  });
});

describe('the example FastAPI app on a lab host', () => {
  const port = 18_000;
  const unit = 'shipit-lab-example';

  async function stageRelease(host: LabHost, id: string, fault?: string): Promise<void> {
    const { stdout: tarball } = await execa('tar', ['-C', 'examples/fastapi', '--exclude=__pycache__', '-cf', '-', 'app'], { encoding: 'buffer' });
    const dir = `/srv/example/releases/${id}`;
    const faultStep = fault ? ` && echo ${fault} > ${dir}/app/FAULT` : '';
    const result = await labSsh(lab, host, 'root', `mkdir -p ${dir} && tar -C ${dir} -xf -${faultStep} && ln -sfn releases/${id} /srv/example/current`, {
      input: Buffer.from(tarball),
    });
    expect(result).toMatchObject({ exitCode: 0 });
  }

  const start = (wait = false) =>
    `systemd-run --quiet --unit=${unit} ${wait ? '--wait ' : ''}--property=WorkingDirectory=/srv/example/current ` +
    `--setenv=PYTHONDONTWRITEBYTECODE=1 gunicorn app.main:app --worker-class uvicorn.workers.UvicornWorker ` +
    `--workers 2 --bind 127.0.0.1:${port}`;
  const waitHealthy = `for i in $(seq 100); do curl -fs localhost:${port}/healthz >/dev/null && exit 0; sleep 0.1; done; exit 1`;
  const cleanup = `systemctl stop ${unit} 2>/dev/null; systemctl reset-failed ${unit} 2>/dev/null; rm -rf /srv/example; true`;

  afterEach(async () => {
    for (const host of hosts()) await labSsh(lab, host, 'root', cleanup);
  });

  it('serves /healthz, /readyz (release id and version) and / under gunicorn with uvicorn workers', async () => {
    const host = hosts()[1]!;
    await stageRelease(host, '20260101-aaaa');
    await sh(host, `${start()} && ${waitHealthy}`);
    expect(JSON.parse(await sh(host, `curl -fsS localhost:${port}/healthz`))).toEqual({ status: 'ok' });
    expect(JSON.parse(await sh(host, `curl -fsS localhost:${port}/readyz`))).toEqual({ status: 'ready', release: '20260101-aaaa', version: '1.0.0' });
    const index = JSON.parse(await sh(host, `curl -fsS localhost:${port}/`)) as { pid: number; version: string; release: string };
    expect(index).toMatchObject({ version: '1.0.0', release: '20260101-aaaa' });
    expect(index.pid).toBeGreaterThan(1);
  }, 60_000);

  it('derives a never-ready release: /readyz 503, /healthz 200', async () => {
    const host = hosts()[0]!;
    await stageRelease(host, 'never-ready', 'never-ready');
    await sh(host, `${start()} && ${waitHealthy}`);
    expect(await sh(host, `curl -s -o /dev/null -w '%{http_code}' localhost:${port}/readyz`)).toBe('503');
    expect(await sh(host, `curl -s -o /dev/null -w '%{http_code}' localhost:${port}/healthz`)).toBe('200');
  }, 60_000);

  it('derives a crash-on-import release: gunicorn halts because a worker failed to boot', async () => {
    const host = hosts()[0]!;
    await stageRelease(host, 'crash', 'crash-on-import');
    const result = await labSsh(lab, host, 'root', start(true));
    expect(result.exitCode).not.toBe(0);
    // Gunicorn 20.1 (Debian 12) exits 3 (WORKER_BOOT_ERROR), or 1 when the second worker's boot failure is reaped
    // while it halts for the first: its SIGCHLD handler raises HaltServer again inside halt(), uncaught (seen
    // once in CI on 2026-12-03). Either way the reason is a worker that failed to boot.
    expect(['3', '1']).toContain(await sh(host, `systemctl show -p ExecMainStatus --value ${unit}`));
    expect(await sh(host, `journalctl -q -o cat -u ${unit} | tail -n 40`)).toContain('Worker failed to boot');
  }, 60_000);
});
