/**
 * How a remote command is started so that it can be stopped. Commands are data (STYLE.md habit 1): the exact
 * strings below are what runs on hosts, and tests assert them.
 *
 * The problem: without a pty, closing an SSH channel does not kill the remote command (sshd only closes its
 * pipes; the command dies, if ever, on its next write), and OpenSSH ignores the `signal` channel request for
 * root sessions. A deploy step that times out or is aborted must not keep running on the host.
 *
 * The design:
 * - sshd starts every non-pty session with setsid(), so the command's first process is a session and process
 *   group leader whose pgid is its pid. The wrapper prints that pid (`$$`) as the first line of stdout, then
 *   `exec`s, so the pid stays the same all the way down and the group holds everything the command spawns
 *   (except daemons that call setsid themselves, which is what daemons are for).
 * - Timeout or abort: a second, short exec runs `kill -TERM -- -PGID`, waits for the group to be gone, and
 *   sends KILL to what is left after a grace period. The caller's promise settles only after that, so
 *   "rejected with TIMEOUT" means "no longer running on the host".
 * - If the SSH connection itself is lost, nobody can send that kill: GNU `timeout` on the host enforces the
 *   same deadline (plus a margin, so the client normally acts first and reports TIMEOUT itself).
 *
 * Requires a POSIX `sh` and GNU coreutils `timeout` on the host (Debian: always present).
 */
import { constants } from 'node:os';
import { quote } from '../remote/quote.js';

/**
 * Extra time the host-side `timeout` gives the client to act first: the client's kill needs a new session
 * (tens of ms) and then waits for the group to be reaped, which takes a while under a slow init.
 */
export const HOST_DEADLINE_MARGIN_MS = 5_000;
/** After TERM, how long a process group gets to exit before KILL. */
export const KILL_GRACE_MS = 3_000;

/** GNU timeout takes fractional seconds; 0 disables it. Rounded up to 0.1 s so it is never shorter than asked. */
function seconds(ms: number): string {
  return (Math.ceil(ms / 100) / 10).toString();
}

/**
 * The command line sent to sshd for `command`. The login shell only has to handle `exec` and single quotes;
 * everything else runs under `sh`, whatever the user's shell is.
 */
export function wrapCommand(command: string, timeoutMs: number | undefined): string {
  const hostDeadline = timeoutMs === undefined ? '0' : seconds(timeoutMs + HOST_DEADLINE_MARGIN_MS);
  const script = `echo $$; exec timeout -k ${seconds(KILL_GRACE_MS)} ${hostDeadline} sh -c "$1"`;
  return `exec sh -c ${quote(script)} shipit ${quote(command)}`;
}

/**
 * TERM the group, wait up to the grace period for it to go, then KILL what is left. Always exits 0.
 * `kill -s SIG -- -PGID` is the only spelling dash (Debian's sh) accepts for a group: `kill -TERM -- -PGID`
 * fails there with "Illegal number".
 */
export function killCommand(pgid: number): string {
  if (!Number.isSafeInteger(pgid) || pgid <= 1) throw new Error(`killCommand: bad process group ${pgid}`);
  const tenths = Math.ceil(KILL_GRACE_MS / 100);
  const script =
    `kill -s TERM -- -${pgid} 2>/dev/null; i=0; ` +
    `while kill -s 0 -- -${pgid} 2>/dev/null && [ $i -lt ${tenths} ]; do sleep 0.1; i=$((i+1)); done; ` +
    `kill -s KILL -- -${pgid} 2>/dev/null; true`;
  return `exec sh -c ${quote(script)}`;
}

/** sshd reports either an exit status or the signal that killed the command; shells map the latter to 128+n. */
export function exitCodeOf(code: number | null | undefined, signal: string | undefined): number | null {
  if (typeof code === 'number') return code;
  if (signal) {
    // ssh2 reports `SIGKILL`; RFC 4254 §6.10 sends `KILL`: accept both.
    const name = signal.startsWith('SIG') ? signal : `SIG${signal}`;
    const number = (constants.signals as Record<string, number | undefined>)[name];
    return 128 + (number ?? 0);
  }
  return null;
}

/**
 * Splits the wrapper's pid line off the front of stdout. Returns null while the line is incomplete.
 * The line is written before `exec`, so it always precedes the command's own output.
 */
export function takePidLine(head: Buffer): { pid: number; rest: Buffer } | null {
  const newline = head.indexOf(0x0a);
  if (newline === -1) return null;
  const pid = Number(head.subarray(0, newline).toString('latin1'));
  return { pid: Number.isSafeInteger(pid) && pid > 1 ? pid : 0, rest: head.subarray(newline + 1) };
}
