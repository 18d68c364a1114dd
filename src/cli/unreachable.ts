import { errorMessage } from '../lib/error-message.js';
import { isShipitError, ShipitError } from '../lib/errors.js';

/**
 * The read-only commands (status, releases, logs) are what an operator runs when something is wrong, often
 * because a host is down: they show the hosts that answer and name the ones that do not, then exit 3.
 * Commands that change hosts (deploy, rollback, lock) and plan still fail before touching any (connectFleet);
 * `remove` removes the app from the hosts it reaches and names the others (exit 3): running it again finishes.
 */

/** A host a read-only command could not read: it is shown with why, the others are read. */
export interface UnreachableHost {
  host: string;
  /** The connection error's message, e.g. "Cannot connect to deploy@ghost (10.213.37.250:22): no SSH handshake within 3000 ms". */
  reason: string;
  error: ShipitError;
}

/**
 * Which failures are reported per host instead of failing the command: the host cannot be reached, or its
 * connection dropped (CONNECT_FAILED). An unknown or changed host key, failed authentication and everything else
 * still fail the whole command: strict host-key checking refuses a host loudly, with its hint, never as one row
 * among others that an operator skims past during an incident.
 */
export function isUnreachable(error: unknown): error is ShipitError {
  return isShipitError(error) && error.code === 'CONNECT_FAILED';
}

/** Per-host outcomes (in `names` order) split into values, unreachable hosts, and errors that fail the command. */
export function partitionOutcomes<T>(
  names: readonly string[],
  results: readonly PromiseSettledResult<T>[],
): { ok: Map<string, T>; unreachable: UnreachableHost[]; fatal: unknown[] } {
  const ok = new Map<string, T>();
  const unreachable: UnreachableHost[] = [];
  const fatal: unknown[] = [];
  results.forEach((result, i) => {
    const host = names[i]!;
    if (result.status === 'fulfilled') ok.set(host, result.value);
    else if (isUnreachable(result.reason)) unreachable.push({ host, reason: result.reason.message, error: result.reason });
    else fatal.push(result.reason);
  });
  return { ok, unreachable, fatal };
}

/** One error for the failures of several hosts: the first one's code and hint, every message. */
export function combineFailures(failures: readonly unknown[]): unknown {
  const first = failures[0];
  if (failures.length === 1) return first;
  const code = isShipitError(first) ? first.code : 'CONNECT_FAILED';
  return new ShipitError(code, failures.map(errorMessage).join('\n'), { hint: isShipitError(first) ? first.hint : undefined });
}

/**
 * Ends a read-only command that printed what it could (exit 3). The reasons are in the output already (a row,
 * a line); this names the hosts once more on stderr, where CI logs look, with what to check.
 */
export function unreachableError(unreachable: readonly UnreachableHost[], total: number): ShipitError {
  const names = unreachable.map((u) => u.host).join(', ');
  const rest = total - unreachable.length;
  return new ShipitError('CONNECT_FAILED', `could not reach ${names}${rest > 0 ? ` (the other ${rest} host(s) are shown)` : ''}`, {
    hint: unreachable[0]?.error.hint,
  });
}
