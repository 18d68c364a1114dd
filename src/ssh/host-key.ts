/**
 * Deciding whether to trust the key a server presents, as OpenSSH's `StrictHostKeyChecking yes` would
 * (optionally `accept-new`, which is the caller's business: it only ever applies to `unknown`).
 */
import type { HostKeys, KnownHostEntry } from './known-hosts.js';
import { keyTypeOf } from './key-blob.js';

export type HostKeyVerdict =
  /** The presented key is listed for this host. */
  | { status: 'known'; entry: KnownHostEntry }
  /** Nothing usable is listed for this host. `certAuthorityOnly`: only @cert-authority lines matched. */
  | { status: 'unknown'; certAuthorityOnly: boolean }
  /** The host is listed, but with other keys: possible man-in-the-middle. No option overrides this. */
  | { status: 'changed'; previous: KnownHostEntry[] }
  /** The presented key is marked @revoked for this host. */
  | { status: 'revoked'; entry: KnownHostEntry };

export function decideHostKey(hostKeys: HostKeys, presented: Buffer): HostKeyVerdict {
  // Revocation wins over everything, like OpenSSH's check of @revoked before any match.
  const revoked = hostKeys.revoked.find((e) => e.key.equals(presented));
  if (revoked) return { status: 'revoked', entry: revoked };
  const known = hostKeys.keys.find((e) => e.key.equals(presented));
  if (known) return { status: 'known', entry: known };
  if (hostKeys.keys.length === 0) return { status: 'unknown', certAuthorityOnly: hostKeys.certAuthorities.length > 0 };
  // Cite the entries of the presented key's type when there are some (that is the key that "changed");
  // otherwise the host now shows a type we never recorded: just as suspicious, cite everything we hold.
  const type = keyTypeOf(presented);
  const sameType = hostKeys.keys.filter((e) => e.keyType === type);
  return { status: 'changed', previous: sameType.length > 0 ? sameType : hostKeys.keys };
}

/**
 * ssh2 host key algorithms per known_hosts key type, in ssh2's own preference order. An `ssh-rsa` blob can be
 * verified with any of the three RSA signature algorithms (RFC 8332).
 */
const ALGORITHMS_BY_TYPE: ReadonlyArray<readonly [keyType: string, algorithms: readonly string[]]> = [
  ['ssh-ed25519', ['ssh-ed25519']],
  ['ecdsa-sha2-nistp256', ['ecdsa-sha2-nistp256']],
  ['ecdsa-sha2-nistp384', ['ecdsa-sha2-nistp384']],
  ['ecdsa-sha2-nistp521', ['ecdsa-sha2-nistp521']],
  ['ssh-rsa', ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']],
  ['ssh-dss', ['ssh-dss']],
];

/**
 * The `algorithms.serverHostKey` list to offer for this host. ssh2 offers ed25519 first and the server picks
 * the first it has, so a host known only by its RSA key would otherwise present its ed25519 key and be
 * reported as changed. OpenSSH does the same reordering (order_hostkeyalgs() in sshconnect2.c).
 *
 * - `undefined`: nothing is known, offer ssh2's defaults (the caller refuses or records whatever comes).
 * - `[]`: the host is known only by key types ssh2 cannot verify (e.g. `sk-ssh-ed25519@openssh.com`).
 */
export function hostKeyAlgorithms(hostKeys: HostKeys): string[] | undefined {
  if (hostKeys.keys.length === 0) return undefined;
  const types = new Set(hostKeys.keys.map((e) => e.keyType));
  return ALGORITHMS_BY_TYPE.filter(([type]) => types.has(type)).flatMap(([, algorithms]) => algorithms);
}
