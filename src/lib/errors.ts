/**
 * Typed errors, printed once by the CLI. `exitCode` is the documented process exit code; `hint` tells the user
 * what to do next. Messages must never contain secret values (see lib/redact.ts).
 */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  config: 2,
  connection: 3,
  lockHeld: 4,
  /** The deploy (or rollback) failed, and every touched host was put back on the release it ran before. */
  failedRestored: 5,
  /** The deploy failed and at least one host could not be restored: the fleet may run mixed releases. */
  failedInconsistent: 6,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'USAGE'
  | 'BUILD_FAILED'
  | 'CONNECT_FAILED'
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_CHANGED'
  | 'AUTH_FAILED'
  | 'SUDO_DENIED'
  | 'REMOTE_FAILED'
  | 'TIMEOUT'
  | 'LOCK_HELD'
  | 'PREREQUISITE_MISSING'
  /** The config collides with what a host has (another environment's units): nothing was changed. */
  | 'CONFIG_CONFLICT'
  /** A dependency set could not be built for a host (prepare fails, nothing is switched). */
  | 'DEPS_FAILED'
  | 'DEPLOY_FAILED_RESTORED'
  | 'DEPLOY_FAILED_INCONSISTENT'
  | 'ABORTED'
  | 'INTERNAL';

const exitFor: Record<ErrorCode, ExitCodeValue> = {
  CONFIG_INVALID: ExitCode.config,
  CONFIG_NOT_FOUND: ExitCode.config,
  USAGE: ExitCode.config,
  BUILD_FAILED: ExitCode.unexpected,
  CONNECT_FAILED: ExitCode.connection,
  HOST_KEY_UNKNOWN: ExitCode.connection,
  HOST_KEY_CHANGED: ExitCode.connection,
  AUTH_FAILED: ExitCode.connection,
  SUDO_DENIED: ExitCode.connection,
  REMOTE_FAILED: ExitCode.unexpected,
  TIMEOUT: ExitCode.unexpected,
  LOCK_HELD: ExitCode.lockHeld,
  PREREQUISITE_MISSING: ExitCode.failedRestored,
  CONFIG_CONFLICT: ExitCode.config,
  DEPS_FAILED: ExitCode.failedRestored,
  DEPLOY_FAILED_RESTORED: ExitCode.failedRestored,
  DEPLOY_FAILED_INCONSISTENT: ExitCode.failedInconsistent,
  ABORTED: ExitCode.interrupted,
  INTERNAL: ExitCode.unexpected,
};

export interface ShipitErrorOptions {
  hint?: string;
  /** The host the error happened on, when there is one. */
  host?: string;
  cause?: unknown;
  exitCode?: ExitCodeValue;
}

export class ShipitError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  readonly host: string | undefined;

  constructor(code: ErrorCode, message: string, options: ShipitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShipitError';
    this.code = code;
    this.exitCode = options.exitCode ?? exitFor[code];
    this.hint = options.hint;
    this.host = options.host;
  }
}

export function isShipitError(error: unknown): error is ShipitError {
  return error instanceof ShipitError;
}

/**
 * A command that never left the deployer: the host's connection was already lost when it was to be sent, so the
 * host is as the command would have found it (a switch that was never sent needs no revert).
 */
export class NotSentError extends ShipitError {
  constructor(lost: ShipitError, host?: string) {
    super(lost.code, lost.message, { hint: lost.hint, host: host ?? lost.host, cause: lost, exitCode: lost.exitCode });
    this.name = 'NotSentError';
  }
}
