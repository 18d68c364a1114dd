/**
 * ssh2 reports failures as plain Errors tagged with a `level` (client-socket, client-timeout, handshake,
 * protocol, client-authentication). These turn them into ShipitErrors that name the host and say what to do.
 */
import { ShipitError } from '../lib/errors.js';
import type { HostTarget } from '../config/types.js';

export type Ssh2Error = Error & { level?: string; code?: string };

export function address(target: HostTarget): string {
  const hostPort = `${target.host}:${target.port}`;
  return target.name === target.host ? hostPort : `${target.name} (${hostPort})`;
}

const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is sshd running on that port?)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  ECONNRESET: 'connection reset by the host',
};

/** A failure to reach the host or complete the SSH handshake (not host keys, not authentication). */
export function connectFailed(target: HostTarget, error: Ssh2Error, connectTimeoutMs: number): ShipitError {
  let reason: string;
  if (error.level === 'client-timeout') reason = `no SSH handshake within ${connectTimeoutMs} ms`;
  else if (error.code && SOCKET_REASONS[error.code]) reason = SOCKET_REASONS[error.code]!;
  else reason = error.message;
  // A longer wait helps only a connection that ran out of time, not one refused or unroutable at once.
  const timedOut = error.level === 'client-timeout' || error.code === 'ETIMEDOUT';
  return new ShipitError('CONNECT_FAILED', `Cannot connect to ${target.user}@${address(target)}: ${reason}`, {
    host: target.name,
    cause: error,
    hint: `Check that the host is up and reachable on port ${target.port} from here (ssh -p ${target.port} ${target.user}@${target.host} true)${timedOut ? ', or raise ssh.connectTimeout' : ''}.`,
  });
}

export interface LocalKeyProblems {
  /** Configured key files that do not exist. */
  missing?: readonly string[];
  /** Key files refused because others may read them. */
  tooOpen?: readonly string[];
}

export function authFailed(target: HostTarget, tried: readonly string[], skipped: readonly string[], local: LocalKeyProblems = {}): ShipitError {
  const triedText = tried.length > 0 ? `tried ${tried.join(', ')}` : 'no identity to offer';
  const skippedText = skipped.length > 0 ? `; not offered: ${skipped.join(', ')}` : '';
  // A key path that does not exist, or a key others may read, is fixed here, not by authorizing a key there.
  const fixes: string[] = [];
  const missing = local.missing ?? [];
  const tooOpen = local.tooOpen ?? [];
  if (missing.length > 0) fixes.push(`${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist: fix the path in ssh.identityFiles (or the IdentityFile of the SSH config).`);
  if (tooOpen.length > 0) fixes.push(`chmod 600 ${tooOpen.join(' ')} (ssh refuses a private key that others can read).`);
  const authorize =
    `Authorize one of these keys for ${target.user} on the host (ssh-copy-id -i <key>.pub -p ${target.port} ${target.user}@${target.host}), ` +
    `load it into ssh-agent, or list it in ssh.identityFiles (and ssh.passphraseEnv for an encrypted key).`;
  if (tried.length > 0 || fixes.length === 0) fixes.push(authorize);
  return new ShipitError('AUTH_FAILED', `Permission denied (publickey) for ${target.user}@${address(target)}: ${triedText}${skippedText}`, {
    host: target.name,
    hint: fixes.join(' '),
  });
}

/** The SSH connection went away while we were using it (reset, keepalive timeout, host down). */
export function connectionLost(target: HostTarget, reason: string, cause?: unknown): ShipitError {
  return new ShipitError('CONNECT_FAILED', `Lost the SSH connection to ${target.user}@${address(target)}: ${reason}`, {
    host: target.name,
    cause,
    hint: 'Check the host and the network, then re-run: every shipit step is safe to repeat.',
  });
}

export function aborted(target: HostTarget, what: string): ShipitError {
  return new ShipitError('ABORTED', `Aborted ${what} on ${target.name}`, {
    host: target.name,
    hint: 'The run was interrupted; re-run it to converge (every step is idempotent).',
  });
}

/** sshd would not open one more session channel on a working connection. */
export function sessionRefused(target: HostTarget, error: Error): ShipitError {
  return new ShipitError('CONNECT_FAILED', `${target.name} refused a new SSH session: ${error.message}`, {
    host: target.name,
    cause: error,
    hint: 'sshd limits sessions per connection (MaxSessions, default 10); check sshd_config and the auth log on the host.',
  });
}
