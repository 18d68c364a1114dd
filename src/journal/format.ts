import type { HostEntry } from './merge.js';

/** ISO 8601 in UTC with milliseconds, from journald's microseconds. */
export function isoTime(timeUs: number): string {
  return new Date(Math.floor(timeUs / 1000)).toISOString();
}

/**
 * `web1   2026-11-25T13:01:02.345Z gunicorn[812]: GET / 200`: the host first (what was asked: where did it
 * happen), then what journalctl's short-iso shows. `redact` runs over the whole line: secrets never print.
 */
export function formatEntry(entry: HostEntry, hostWidth: number, redact: (text: string) => string): string {
  const proc = entry.pid === null ? entry.identifier : `${entry.identifier}[${entry.pid}]`;
  return redact(`${entry.host.padEnd(hostWidth)}  ${isoTime(entry.timeUs)} ${proc}: ${entry.message}`);
}

/** One JSON object per line for `--json`: stable field names, no cursor. */
export function entryJson(entry: HostEntry, redact: (text: string) => string): string {
  return redact(
    JSON.stringify({
      host: entry.host,
      time: isoTime(entry.timeUs),
      timeUs: entry.timeUs,
      priority: entry.priority,
      identifier: entry.identifier,
      pid: entry.pid,
      message: entry.message,
    }),
  );
}
