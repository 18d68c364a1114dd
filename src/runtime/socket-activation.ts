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
 * A worker's `server.listen({ fd: 3 })` goes through the primary: under round-robin scheduling the PRIMARY
 * listens on its fd 3 and hands connections out (round_robin_handle.js); under shared scheduling it sends a copy
 * of fd 3 to each worker, which accepts itself (shared_handle.js). Either way the socket stays owned by systemd
 * across restarts, so connections queue instead of being refused (config.ts resolveScheduling says which mode
 * loses nothing at a restart). The worker's own fd 3 is its IPC channel, not this socket.
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
