// Everything a host's overlay gets before it boots: identity (machine-id, hostname, ssh host keys), access
// (authorized keys for root and deploy, deploy's sudo rules, key-only sshd) and boot tuning (units masked).
// Writes go through the mounted overlay, so they land in the host's upper layer, never in the shared rootfs.
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.js';
import { generateHostKeys } from './keys.js';

export interface ProvisionInput {
  root: string;
  name: string;
  clientPublicKey: string;
  /** name → address of every lab host, for /etc/hosts (hosts reach each other by name). */
  peers: Array<{ name: string; address: string }>;
}

/** Units that would fail, wait, or do background work in a lab container (a failed unit = `degraded`). */
export const MASKED_UNITS = [
  // Nothing inside may manage interfaces: the address and route are set from outside before boot.
  'systemd-networkd.service',
  'systemd-networkd.socket',
  'systemd-networkd-wait-online.service',
  'networking.service',
  // No network access to the Debian mirror from the lab, and no block devices to trim or scrub.
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  'fstrim.timer',
  // Records the container's boot in wtmp, which nothing in the lab reads. Failed on one of 12 hosts booting at
  // once on 2 cores (2026-12-03: `boot finished degraded`), which failed `lab up 12`. Its runlevel unit requires it.
  'systemd-update-utmp.service',
  'systemd-update-utmp-runlevel.service',
];

export const SSHD_CONFIG = `# shipit lab: keys only; root may log in with a key (e2e tests run as root and as deploy).
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
`;

export const DEPLOY_SUDOERS = `# shipit lab: deploys run privileged steps as \`sudo -n <command>\` (never a password prompt).
# ALL for now; narrow this to the commands a deploy runs (systemctl, installing units and releases) once the
# remote command set is settled.
deploy ALL=(ALL:ALL) NOPASSWD: ALL
`;

async function userIds(root: string, user: string): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile(path.join(root, 'etc/passwd'), 'utf8');
  const fields = passwd.split('\n').find((line) => line.startsWith(`${user}:`))?.split(':');
  if (!fields) throw new Error(`user ${user} missing from the rootfs`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

async function authorize(root: string, home: string, owner: { uid: number; gid: number }, key: string): Promise<void> {
  const sshDir = path.join(root, home, '.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(sshDir, 'authorized_keys'), `${key}\n`, { mode: 0o600 });
  await chown(sshDir, owner.uid, owner.gid);
  await chown(path.join(sshDir, 'authorized_keys'), owner.uid, owner.gid);
}

/** Returns the host's public host keys (for known_hosts). */
export async function provisionHost(input: ProvisionInput): Promise<string[]> {
  const { root, name } = input;
  const etc = (file: string) => path.join(root, 'etc', file);

  await writeFile(etc('machine-id'), `${randomBytes(16).toString('hex')}\n`, { mode: 0o444 });
  await writeFile(etc('hostname'), `${name}\n`);
  const peers = input.peers.map((p) => `${p.address}\t${p.name}`).join('\n');
  await writeFile(etc('hosts'), `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${peers}\n`);

  const hostKeys = await generateHostKeys(etc('ssh'), name);
  await writeFile(etc('ssh/sshd_config.d/shipit-lab.conf'), SSHD_CONFIG);

  await authorize(root, 'root', { uid: 0, gid: 0 }, input.clientPublicKey);
  await authorize(root, 'home/deploy', await userIds(root, 'deploy'), input.clientPublicKey);
  await writeFile(etc('sudoers.d/deploy'), DEPLOY_SUDOERS, { mode: 0o440 });
  await run(['chroot', root, 'visudo', '--check', '--quiet', '--file', '/etc/sudoers.d/deploy']);

  // systemd-sysusers (ConditionNeedsUpdate=/etc) runs at every boot while /etc/.updated is missing, and nothing in
  // Debian writes it (no systemd-update-done); the rootfs's users were made when its packages were installed, so a
  // boot that runs it changes nothing (checked with --dry-run) but can fail (CI, 2026-12-03). A stamp newer than
  // /usr says /etc and /var are up to date.
  for (const dir of ['etc', 'var']) {
    await writeFile(path.join(root, dir, '.updated'), '# shipit lab: /usr has not changed since this host was provisioned\n');
  }

  for (const unit of MASKED_UNITS) {
    const link = etc(`systemd/system/${unit}`);
    await rm(link, { force: true });
    await symlink('/dev/null', link);
  }
  return hostKeys;
}
