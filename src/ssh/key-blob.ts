/**
 * SSH public key blobs (RFC 4253 §6.6): `string keytype` followed by type-specific fields. This is what a
 * server presents during key exchange and what known_hosts stores in base64.
 */
import { createHash } from 'node:crypto';

/** The key type named inside a blob (`ssh-ed25519`, `ssh-rsa`, …), or null if the blob is malformed. */
export function keyTypeOf(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return null;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : null;
}

/** The fingerprint `ssh` and `ssh-keygen -lf` print: `SHA256:` + unpadded base64 of sha256(blob). */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
