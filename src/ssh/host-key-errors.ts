/**
 * The refusals of host key checking, worded after OpenSSH's so users recognise them, each with what to do.
 * They name the file and line of the entries involved, because that is what the user has to edit.
 */
import { ShipitError } from '../lib/errors.js';
import type { HostKeyVerdict } from './host-key.js';
import { fingerprint, keyTypeOf } from './key-blob.js';
import { hostString, type KnownHostEntry } from './known-hosts.js';

export interface HostKeyContext {
  /** Display name of the target. */
  name: string;
  host: string;
  port: number;
  knownHostsFile: string;
}

function where(ctx: HostKeyContext): string {
  return ctx.name === ctx.host ? `${ctx.host}:${ctx.port}` : `${ctx.name} (${ctx.host}:${ctx.port})`;
}

function cite(ctx: HostKeyContext, entries: readonly KnownHostEntry[]): string {
  return entries.map((e) => `${e.keyType} key in ${ctx.knownHostsFile}:${e.line}`).join(', ');
}

/** Where sshd keeps the host key of a type on Debian, for the "verify it" hint. */
function hostKeyPath(type: string): string {
  const base = type.startsWith('ecdsa-') ? 'ecdsa' : type === 'ssh-dss' ? 'dsa' : type.replace(/^ssh-/, '');
  return `/etc/ssh/ssh_host_${base}_key.pub`;
}

const BANNER = [
  '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
  '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
  '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
].join('\n');

export function hostKeyError(
  verdict: Exclude<HostKeyVerdict, { status: 'known' }>,
  presented: Buffer,
  ctx: HostKeyContext,
): ShipitError {
  const type = keyTypeOf(presented) ?? 'unknown-type';
  const print = fingerprint(presented);
  const removeCommand = `ssh-keygen -R '${hostString(ctx.host, ctx.port)}' -f ${ctx.knownHostsFile}`;
  switch (verdict.status) {
    case 'unknown':
      return new ShipitError(
        'HOST_KEY_UNKNOWN',
        `The authenticity of host ${where(ctx)} can't be established: it is not in ${ctx.knownHostsFile}.\n` +
          `${type} key fingerprint is ${print}.` +
          (verdict.certAuthorityOnly
            ? `\nknown_hosts lists only a @cert-authority for this host; host certificates are not supported (ssh2).`
            : ''),
        {
          host: ctx.name,
          hint:
            `Verify the fingerprint on the host (ssh-keygen -lf ${hostKeyPath(type)}), ` +
            `then re-run with --accept-new-host-keys to record it (hashed) in ${ctx.knownHostsFile}. ` +
            // A CI job writes known_hosts from a secret at every run (examples/github-actions/deploy.sh): recording
            // a key there is lost with the runner, and accepting keys unseen in CI is what the secret prevents.
            `In CI, add the host's line (ssh-keyscan -p ${ctx.port} ${ctx.host}, its fingerprint compared) to the secret ` +
            `that file is written from (SSH_KNOWN_HOSTS), never --accept-new-host-keys.`,
        },
      );
    case 'changed':
      return new ShipitError(
        'HOST_KEY_CHANGED',
        `${BANNER}\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n` +
          `Host ${where(ctx)} sent a ${type} key with fingerprint ${print},\n` +
          `which does not match the ${cite(ctx, verdict.previous)}.\nHost key verification failed.`,
        {
          host: ctx.name,
          hint:
            `Find out why the key changed (reinstalled host? reused address?). If the new key is genuine, remove ` +
            `the old entry with \`${removeCommand}\` and re-run with --accept-new-host-keys. No option skips this check.`,
        },
      );
    case 'revoked':
      return new ShipitError(
        'HOST_KEY_CHANGED',
        `Host ${where(ctx)} presented a REVOKED ${type} key ${print} (@revoked in ${ctx.knownHostsFile}:${verdict.entry.line}).\n` +
          `Host key verification failed.`,
        { host: ctx.name, hint: 'The host must get a new host key from its administrator; shipit will not use a revoked key.' },
      );
  }
}

/**
 * The host offered none of the key types known_hosts records for it (the handshake found no common host key
 * algorithm), or known_hosts only has types ssh2 cannot verify. OpenSSH in strict mode refuses this too.
 */
export function noUsableHostKeyError(ctx: HostKeyContext, known: readonly KnownHostEntry[], detail: string): ShipitError {
  return new ShipitError(
    'HOST_KEY_CHANGED',
    `Host ${where(ctx)} does not offer a host key of the type(s) recorded for it (${cite(ctx, known)}): ${detail}.\n` +
      `Host key verification failed.`,
    {
      host: ctx.name,
      hint:
        `Check the host's keys (ssh-keyscan -p ${ctx.port} ${ctx.host} | ssh-keygen -lf -) against a trusted source; if the change is ` +
        `genuine, remove the old entry with \`ssh-keygen -R '${hostString(ctx.host, ctx.port)}' -f ${ctx.knownHostsFile}\` ` +
        `and re-run with --accept-new-host-keys.`,
    },
  );
}
