// SSH identities for the lab, all made fresh by `up` with this machine's ssh-keygen: one client key pair that
// every host authorizes, and per host its own host keys, listed by address in the lab's known_hosts file.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.js';

export const HOST_KEY_TYPES = ['ed25519', 'ecdsa', 'rsa'] as const;

export async function generateClientKey(file: string): Promise<string> {
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'shipit-lab', '-f', file]);
  return (await readFile(`${file}.pub`, 'utf8')).trim();
}

/** Writes ssh_host_<type>_key(.pub) into `sshDir` (the host's /etc/ssh) and returns the public keys. */
export async function generateHostKeys(sshDir: string, host: string): Promise<string[]> {
  return Promise.all(
    HOST_KEY_TYPES.map(async (type) => {
      const file = path.join(sshDir, `ssh_host_${type}_key`);
      await run(['ssh-keygen', '-q', '-t', type, '-N', '', '-C', `root@${host}`, '-f', file]);
      return (await readFile(`${file}.pub`, 'utf8')).trim();
    }),
  );
}

/** known_hosts lines: `<address> <type> <base64>` (the comment dropped), one per key. */
export function knownHostsLines(address: string, publicKeys: string[]): string[] {
  return publicKeys.map((key) => {
    const [type, blob] = key.split(/\s+/);
    return `${address} ${type} ${blob}`;
  });
}

export async function writeKnownHosts(file: string, lines: string[]): Promise<void> {
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o644 });
}
