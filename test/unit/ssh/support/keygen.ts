// Real OpenSSH tooling for the tests: keys and known_hosts files made by ssh-keygen itself, so the parser is
// checked against what users actually have on disk, not against our own idea of the format.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GeneratedKey {
  type: string;
  /** Path of the private key; `${path}.pub` is the public key. */
  path: string;
  /** The `.pub` line: "type base64 comment". */
  publicLine: string;
  blob: Buffer;
}

export function makeTempDir(prefix = 'shipit-ssh-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sshKeygen(args: string[], options: { allowFailure?: boolean } = {}): string {
  try {
    return execFileSync('ssh-keygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if (options.allowFailure) return (error as { stdout?: string }).stdout ?? '';
    throw error;
  }
}

export function generateKey(dir: string, name: string, type: 'ed25519' | 'ecdsa' | 'rsa', passphrase = ''): GeneratedKey {
  const path = join(dir, name);
  const bits = type === 'rsa' ? ['-b', '2048'] : [];
  sshKeygen(['-q', '-t', type, ...bits, '-N', passphrase, '-C', `${name}@test`, '-f', path]);
  const publicLine = readFileSync(`${path}.pub`, 'utf8').trim();
  const [keyType, blob64] = publicLine.split(' ');
  return { type: keyType!, path, publicLine, blob: Buffer.from(blob64!, 'base64') };
}

/** Line numbers `ssh-keygen -F` reports for a host string (`host` or `[host]:port`). */
export function keygenFind(file: string, hostString: string): number[] {
  const out = sshKeygen(['-F', hostString, '-f', file], { allowFailure: true });
  return [...out.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
}
