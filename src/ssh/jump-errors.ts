/**
 * Failures on the way through jump hosts (ProxyJump), worded so the user sees WHICH hop failed: the error of a
 * hop keeps its own message (a host key refusal names the jump host and its known_hosts entry) and says which
 * target it was a hop for; errors still count for the target host (per-host reporting, exit codes).
 */
import type { HostTarget } from '../config/types.js';
import { ShipitError, isShipitError } from '../lib/errors.js';
import { address } from './connect-errors.js';

/** A hop's own failure (unreachable, host key, authentication): "<target>: via jump host <hop>: <why>". */
export function viaJump(error: unknown, hop: HostTarget, target: HostTarget): ShipitError {
  if (!isShipitError(error)) return viaJump(new ShipitError('CONNECT_FAILED', String((error as Error)?.message ?? error)), hop, target);
  return new ShipitError(error.code, `${target.name}: via jump host ${hop.name}: ${error.message}`, {
    host: target.name,
    cause: error,
    hint: error.hint,
    exitCode: error.exitCode,
  });
}

/** The jump host is fine but would not (or could not) open the next hop's TCP connection. */
export function forwardFailed(jump: HostTarget, next: HostTarget, target: HostTarget, reason: string, cause?: unknown): ShipitError {
  const prohibited = /prohibited/i.test(reason);
  return new ShipitError('CONNECT_FAILED', `${target.name}: jump host ${jump.name} could not connect to ${address(next)}: ${reason.toLowerCase()}`, {
    host: target.name,
    cause,
    hint: prohibited
      ? `sshd on ${jump.name} refuses TCP forwarding for ${jump.user}: set \`AllowTcpForwarding yes\` (or local) there; ProxyJump needs it.`
      : `Check from ${jump.name} that ${next.host} answers on port ${next.port} (ssh ${jump.user}@${jump.host} nc -zv ${next.host} ${next.port}), and the HostName/Port your SSH config gives it.`,
  });
}

/**
 * The target's own failure, reached through `jump`: the same error, saying which way it went. A connection
 * failure's hint ("ssh -p 22 user@host true") would not work from here: it gets the ProxyJump form instead.
 */
export function throughJump(error: unknown, jump: HostTarget, target: HostTarget): unknown {
  if (!isShipitError(error) || error.code === 'ABORTED') return error;
  const hint =
    error.code === 'CONNECT_FAILED'
      ? `Check that ${target.host} answers on port ${target.port} from ${jump.name} (ssh -J ${jump.user}@${jump.host}:${jump.port} -p ${target.port} ${target.user}@${target.host} true), or raise ssh.connectTimeout.`
      : error.hint;
  return new ShipitError(error.code, `${error.message} (through jump host ${jump.name})`, {
    host: error.host,
    cause: error,
    hint,
    exitCode: error.exitCode,
  });
}
