import type { Host, JournalEntry } from '../host/types.js';
import { cutAppLine } from '../lib/app-reason.js';
import type { Clock } from '../lib/clock.js';

/**
 * What an app warned about as it started, on a host that then passed its gate: the node runtime's `warn` lines
 * (an export that looks like a misnamed hook, the app's own SIGTERM handler, its own listen() on another port)
 * say that the app serves, but not as its author thinks. They reach only the journal; a deploy that passed shows
 * them once, for the canary (rollout/execute.ts).
 */
export const APP_WARNINGS = {
  /** Distinct lines shown; the others are counted. */
  lines: 5,
  /** syslog(3) LOG_WARNING: the runtime logs `warn` at 4, `error` at 3 (src/runtime/log.ts). */
  priority: 4,
  /**
   * Bound on the read: it takes one round trip (15-50 ms on the lab, 2026-12-05), but a host whose journald is
   * stuck must not hold the deploy up for the command timeout (ssh.commandTimeout, 2 minutes) over a courtesy.
   */
  readTimeoutMs: 5_000,
} as const;

export interface AppWarnings {
  lines: string[];
  /** Distinct lines not shown. */
  more: number;
}

export interface ReadAppWarningsOptions {
  /** How long ago (ms, the deployer's clock) the host's activation began: the window read, by the host's clock. */
  sinceMs: number;
  redact: (text: string) => string;
  clock: Clock;
  signal: AbortSignal;
}

/**
 * One journal read on the host: what the unit's processes of this start (JournalQuery.thisStart: not the old
 * process's last words as it stopped, such as a worker killed past the graceful timeout, which are not this
 * release's; not systemd's lines about the unit) logged at warning priority or worse, filtered there, so that an
 * app that logs every request under load sends none of those lines; and only since the activation began (rounded up
 * to whole seconds, plus one: journalctl's relative --since counts by the host's clock), picked by pickAppWarnings.
 * Rejects when the read fails or takes over APP_WARNINGS.readTimeoutMs (the read is then killed on the host, as
 * any aborted command is).
 */
export async function readAppWarnings(host: Host, options: ReadAppWarningsOptions): Promise<AppWarnings> {
  const secondsAgo = Math.ceil(Math.max(0, options.sinceMs) / 1000) + 1;
  const read = new AbortController();
  const tooLong = new AbortController();
  options.clock.sleep(APP_WARNINGS.readTimeoutMs, read.signal).then(
    () => tooLong.abort(new Error(`${host.name}: the journal read took over ${APP_WARNINGS.readTimeoutMs} ms`)),
    () => {},
  );
  try {
    const query = { since: { secondsAgo }, thisStart: true, maxPriority: APP_WARNINGS.priority };
    const batch = await host.journal(query, AbortSignal.any([options.signal, tooLong.signal]));
    return pickAppWarnings(batch.entries, options.redact);
  } finally {
    read.abort();
  }
}

/**
 * The warnings (priority ≤ 4) of the app's processes, the way they are shown. The host filtered them already
 * (readAppWarnings); checked again here, so that a host that could not (no invocation ID) never shows systemd's
 * lines about the unit (PID 1: "State 'stop-sigterm' timed out") as the app's.
 *
 * The runtime's JSON line is reduced to its `msg` (its fields are for jq: a worker's slot, a port). Every line is
 * redacted first (a secret in any of the fields never prints), again once decoded (a secret JSON-escaped in the
 * line), then cut to APP_REASON.chars; the same warning from several workers is shown once.
 */
export function pickAppWarnings(entries: readonly JournalEntry[], redact: (text: string) => string): AppWarnings {
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry.pid === 1 || entry.priority > APP_WARNINGS.priority) continue;
    // Redacted whole before its newlines go (a message of several lines, a stack, is shown on one line), and with
    // them every other control character (a lone \r, a terminal's escape sequences): the line goes to a CI log or
    // a listr2 row.
    const message = redact(messageOf(redact(entry.message))).replace(/\s*[\u0000-\u001f\u007f-\u009f\u2028\u2029]+\s*/g, ' ');
    const line = cutAppLine(message, redact).trim();
    if (line !== '') seen.add(line);
  }
  const all = [...seen];
  return { lines: all.slice(0, APP_WARNINGS.lines), more: Math.max(0, all.length - APP_WARNINGS.lines) };
}

/** The `msg` of the runtime's JSON line (src/runtime/log.ts), else the line as it is. */
function messageOf(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { msg?: unknown }).msg === 'string') return (parsed as { msg: string }).msg;
  } catch {
    // not JSON after all: shown as it is
  }
  return line;
}
