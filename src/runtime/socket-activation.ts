/**
 * systemd socket activation, the sd_listen_fds(3) protocol: systemd passes listening sockets starting at fd 3
 * (SD_LISTEN_FDS_START) and sets LISTEN_FDS=<count> and LISTEN_PID=<pid of the process meant to use them>.
 * Pure: returns what to do; main.ts applies it.
 *
 * Why verify LISTEN_PID: the variables are inherited by every child. A process whose pid differs (a wrapper that
 * forgot to `exec`, a child of ours) must not treat fd 3 as a socket: it may be anything there. Like
 * sd_listen_fds(unset_environment=1), the variables are removed whether or not they were ours, so no child sees
 * them; our workers learn about fd 3 from the master instead (protocol.ts).
 *
 * Where the workers listen. Under shared scheduling (the default) each worker inherits its own copy of the socket
 * as its fd 3 at fork (primary.ts: stdio) and listens on it without node:cluster (worker.ts listenOnOwnFd): the
 * master's fd 3 is never given to node:cluster, so it stays open even when every worker dies at once (two workers
 * hitting the same bug, or the only worker of a 1-CPU host), and the replacements listen on it again while
 * connections queue in its backlog. Through node:cluster the primary would close its fd 3 with its last worker
 * (shared_handle.js `remove`), and only a restart by systemd could bring the socket back. Under round-robin
 * scheduling the PRIMARY must accept on its fd 3 (round_robin_handle.js), so there it does go through
 * node:cluster, and the master exits when no worker is left (exit-codes.ts listenerLost). Either way the socket
 * stays owned by systemd across restarts, so connections queue instead of being refused.
 */
export const SD_LISTEN_FDS_START = 3;

export const LISTEN_ENV_KEYS = ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'] as const;

export interface ListenFdsResult {
  /** The fd to listen on, when systemd passed one to this very process. */
  fd: number | undefined;
  /** Why LISTEN_FDS was present but not used (logged as a warning). */
  ignored: string | undefined;
  /** Sockets passed beyond the first, which this runtime does not use (logged as a warning). */
  extra: number;
}

export function takeListenFds(env: Record<string, string | undefined>, pid: number): ListenFdsResult {
  const fds = env.LISTEN_FDS;
  const listenPid = env.LISTEN_PID;
  if (fds === undefined || fds === '') return { fd: undefined, ignored: undefined, extra: 0 };
  if (listenPid === undefined || !/^[0-9]+$/.test(listenPid)) {
    return { fd: undefined, ignored: `LISTEN_FDS=${fds} without a valid LISTEN_PID (${String(listenPid)})`, extra: 0 };
  }
  if (Number(listenPid) !== pid) {
    return {
      fd: undefined,
      ignored: `LISTEN_PID=${listenPid} is not this process (${pid}): a wrapper must \`exec\` the runtime`,
      extra: 0,
    };
  }
  if (!/^[0-9]+$/.test(fds) || Number(fds) < 1) {
    return { fd: undefined, ignored: `LISTEN_FDS=${fds} is not a positive count`, extra: 0 };
  }
  return { fd: SD_LISTEN_FDS_START, ignored: undefined, extra: Number(fds) - 1 };
}

/** Remove the variables from an environment object (process.env in main.ts). */
export function unsetListenEnv(env: Record<string, string | undefined>): void {
  for (const key of LISTEN_ENV_KEYS) delete env[key];
}
