/**
 * Exit codes of the runtime's master process. systemd records them (`systemctl status`: `status=3`), the deploy
 * tool reads them from the unit state, and they follow Gunicorn's arbiter where Gunicorn has one
 * (gunicorn/arbiter.py: WORKER_BOOT_ERROR = 3, APP_LOAD_ERROR = 4) so operators meet familiar numbers.
 *
 * Workers use 3 and 4 too, to tell the master why they exited before serving (see protocol.ts).
 */
export const RuntimeExit = {
  /** Stopped on SIGTERM/SIGINT after draining. */
  ok: 0,
  /** A bug or an unexpected error in the master itself. */
  unexpected: 1,
  /** The environment is invalid (e.g. `WORKERS=abc`); nothing was started. */
  config: 2,
  /**
   * A worker could not boot: its `ready()` hook threw, `listen` failed (EADDRINUSE, EACCES), it did not serve
   * within SHIPIT_BOOT_TIMEOUT, or it died before serving. At start-up this halts the master instead of
   * respawning forever; later it halts only when no worker is left serving.
   */
  workerBootFailed: 3,
  /** The app module could not be loaded: the import threw, or it exports no handler/createServer. */
  appLoadFailed: 4,
  /**
   * Socket activation under round-robin scheduling only: every worker left the listening socket, so node:cluster
   * closed the primary's copy of fd 3 (`remove` in round_robin_handle.js). It cannot be reopened; exiting lets systemd
   * restart us with the socket it still holds, and connections queue meanwhile instead of being refused.
   */
  listenerLost: 5,
} as const;

export type RuntimeExitCode = (typeof RuntimeExit)[keyof typeof RuntimeExit];

export function describeExit(code: number): string {
  switch (code) {
    case RuntimeExit.ok: return 'stopped';
    case RuntimeExit.config: return 'invalid configuration';
    case RuntimeExit.workerBootFailed: return 'worker failed to boot';
    case RuntimeExit.appLoadFailed: return 'app could not be loaded';
    case RuntimeExit.listenerLost: return 'listening socket lost';
    default: return 'unexpected error';
  }
}
