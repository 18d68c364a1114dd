/**
 * Structured logs: one JSON object per line on stdout, `{"ts","level","msg","worker"?,"pid",...}`, which
 * journald stores as is and `journalctl -o cat | jq` reads back. Master and workers share the stdout pipe;
 * stdout to a pipe or file is synchronous in Node on Linux, and each line goes out in one write(), so lines
 * below PIPE_BUF (4 KiB) from different processes never interleave.
 */
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
    write(`${safeStringify(record)}\n`);
  };
}

export function errorFields(error: unknown): { message: string; stack?: string | undefined } {
  if (error instanceof Error) return { message: error.message, stack: error.stack };
  return { message: String(error) };
}

function safeStringify(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  } catch {
    return JSON.stringify({ ts: record.ts, level: record.level, msg: record.msg, pid: record.pid, note: 'unserialisable fields dropped' });
  }
}
