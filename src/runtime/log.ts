/**
 * Structured logs: one JSON object per line on stdout, `{"ts","level","msg","worker"?,"pid",...}`, which
 * journald stores as is and `journalctl -o cat | jq` reads back. Master and workers share the stdout pipe;
 * stdout to a pipe or file is synchronous in Node on Linux, and each line goes out in one write(), so lines
 * below PIPE_BUF (4 KiB) from different processes never interleave.
 *
 * The access log (one line per request) goes through `batchLines` instead: one write() per event-loop turn rather
 * than one per request, still in whole lines below PIPE_BUF (measured with bench/runtime: a write per request
 * nearly halved the requests per second a worker serves).
 */
import { fstatSync } from 'node:fs';
import type { LogLevel } from './config.js';

export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level: LogLevel;
  pid: number;
  /** The worker's slot (1-based) in worker processes. */
  worker?: number | undefined;
  write?: (line: string) => void;
  /** Wall-clock time for `ts` (an I/O edge: logs are for humans and journald, not for deadlines). */
  wallClock?: () => Date;
  /**
   * Prefix each line with its syslog priority, `<3>` for an error (sd-daemon(3)): journald strips it from a
   * stdout stream (SyslogLevelPrefix=yes, the default) and stores the line at that priority. Without it every
   * line, a killed worker's included, was stored at 6 (info): `journalctl -p warning -u <app>` showed nothing.
   * On only when stdout is the journal (journalPrefixWanted): elsewhere the lines stay plain JSON.
   */
  syslogPrefix?: boolean;
}

/** syslog(3) priorities of our levels. */
const priority: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/**
 * True when stdout is connected to the journal: systemd sets JOURNAL_STREAM to its "device:inode", which a
 * program compares with its stdout's (systemd.exec(5)); workers inherit both the variable and the stream.
 */
export function journalPrefixWanted(env: Record<string, string | undefined>, stdoutFd = 1): boolean {
  const stream = env.JOURNAL_STREAM;
  if (stream === undefined || stream === '') return false;
  try {
    const st = fstatSync(stdoutFd);
    return stream === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

export function createLogger(options: LoggerOptions): LogFn {
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const wallClock = options.wallClock ?? (() => new Date());
  const min = rank[options.level];
  return (level, msg, fields = {}) => {
    if (rank[level] < min) return;
    const record: Record<string, unknown> = { ts: wallClock().toISOString(), level, msg };
    if (options.worker !== undefined) record.worker = options.worker;
    record.pid = options.pid;
    for (const [key, value] of Object.entries(fields)) {
      if (key in record) continue; // never let a field overwrite ts/level/msg/worker/pid
      record[key] = value instanceof Error ? errorFields(value) : value;
    }
    write(`${options.syslogPrefix ? `<${priority[level]}>` : ''}${safeStringify(record)}\n`);
  };
}

export function errorFields(error: unknown): { message: string; stack?: string | undefined } {
  if (error instanceof Error) return { message: error.message, stack: error.stack };
  return { message: String(error) };
}

/** Flushes once PIPE_BUF would be exceeded: a larger write() to a pipe may interleave with other writers. */
const PIPE_BUF = 4096;

export interface LineBatch {
  /** Queue one line (ending in \n); written within this event-loop turn. */
  push: (line: string) => void;
  /** Write what is queued now (the process is about to exit). */
  flush: () => void;
}

/**
 * Collects lines and writes them together: at the end of the current event-loop turn (`schedule`, setImmediate in
 * the runtime), or as soon as the next line would take a chunk past PIPE_BUF. Each chunk holds whole lines only.
 * Lines queued when a process is killed with SIGKILL are lost: at most one loop turn's worth.
 */
export function batchLines(write: (chunk: string) => void, schedule: (fn: () => void) => void): LineBatch {
  let queued: string[] = [];
  let bytes = 0;
  let scheduled = false;
  const flush = (): void => {
    if (queued.length === 0) return;
    const chunk = queued.length === 1 ? queued[0]! : queued.join('');
    queued = [];
    bytes = 0;
    write(chunk);
  };
  const onTurnEnd = (): void => {
    scheduled = false;
    flush();
  };
  return {
    push(line) {
      const size = Buffer.byteLength(line);
      if (bytes + size > PIPE_BUF) flush();
      queued.push(line);
      bytes += size;
      if (!scheduled) {
        scheduled = true;
        schedule(onTurnEnd);
      }
    },
    flush,
  };
}

function safeStringify(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record); // the common case, without the per-key cost of a replacer
  } catch {
    // a BigInt (or a cycle): below
  }
  try {
    return JSON.stringify(record, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  } catch {
    return JSON.stringify({ ts: record.ts, level: record.level, msg: record.msg, pid: record.pid, note: 'unserialisable fields dropped' });
  }
}
