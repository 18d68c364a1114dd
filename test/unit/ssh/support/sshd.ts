// A throwaway OpenSSH server on loopback for connection tests: its own host keys, its own authorized_keys,
// a free port; never the system sshd. Needs the openssh-server package: if it is missing the tests FAIL
// (scripts/setup.sh installs it), they do not skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { generateKey, makeTempDir, type GeneratedKey } from './keygen.js';

export const SSHD = '/usr/sbin/sshd';

export interface TestSshd {
  port: number;
  dir: string;
  hostKeys: { ed25519: GeneratedKey; ecdsa: GeneratedKey; rsa: GeneratedKey };
  /** A key authorized for the current user (root here). */
  clientKey: GeneratedKey;
  /** known_hosts line (plain) for a host key on this server. */
  knownHostsLine(key: GeneratedKey, port?: number): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${stderr()}`);
}

export async function startSshd(options: { extraConfig?: string[] } = {}): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found: install openssh-server (scripts/setup.sh does)`);
  const tmp = makeTempDir('shipit-sshd-');
  const dir = tmp.dir;
  const hostKeys = {
    ed25519: generateKey(dir, 'ssh_host_ed25519_key', 'ed25519'),
    ecdsa: generateKey(dir, 'ssh_host_ecdsa_key', 'ecdsa'),
    rsa: generateKey(dir, 'ssh_host_rsa_key', 'rsa'),
  };
  const clientKey = generateKey(dir, 'client_ed25519', 'ed25519');
  writeFileSync(join(dir, 'authorized_keys'), clientKey.publicLine + '\n');
  // Started as root, sshd insists on its privilege separation directory (Debian creates it only when the
  // system service starts, which we never do). As another user it does not need it (and could not create it).
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    ...Object.values(hostKeys).map((k) => `HostKey ${k.path}`),
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'AllowTcpForwarding yes',
    'MaxStartups 100',
    'LogLevel ERROR',
    // Commands run under the user's login shell, and bash started by sshd reads ~/.bashrc: the machine's own
    // (here root's, which runs `pyenv init` and its rehash lock: 0.4 s per command, serialized) must not
    // decide how long a test's commands take.
    `SetEnv HOME=${dir}`,
    ...(options.extraConfig ?? []),
  ];
  const configFile = join(dir, 'sshd_config');
  writeFileSync(configFile, config.join('\n') + '\n');
  const child = spawn(SSHD, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  await waitForPort(port, child, () => stderr);
  return {
    port,
    dir,
    hostKeys,
    clientKey,
    knownHostsLine: (key, p = port) => `[127.0.0.1]:${p} ${key.publicLine.split(' ').slice(0, 2).join(' ')}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      tmp.cleanup();
    },
  };
}
