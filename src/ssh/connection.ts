/**
 * What the exec and probe code needs from an established SSH connection. SshTransport implements it over an
 * ssh2 Client; keeping it narrow keeps the channel code readable and independent of connection setup.
 */
import type { ClientChannel } from 'ssh2';
import type { HostTarget } from '../config/types.js';
import type { ShipitError } from '../lib/errors.js';
import type { Limiter } from './limiter.js';

export interface Connection {
  readonly target: HostTarget;
  /** Session channels for commands: bounded below sshd's MaxSessions (default 10). */
  readonly sessions: Limiter;
  /** Separate, small budget for kill commands, so a kill never waits behind the commands it must stop. */
  readonly kills: Limiter;
  /** Opens a session channel running `command` (already wrapped). Rejects with CONNECT_FAILED. */
  openExec(command: string): Promise<ClientChannel>;
  /** Opens a direct-tcpip channel to 127.0.0.1:`port` on the host. Rejects with the sshd's reason. */
  openForward(port: number): Promise<ClientChannel>;
  /** Why the connection can no longer be used (lost, closed), or null while it is up. */
  failure(): ShipitError | null;
  /** Adds to bytesSent. */
  countSent(bytes: number): void;
}
