import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchLines, createLogger, journalPrefixWanted } from '../../../src/runtime/log.js';

/** A schedule the test runs by hand: the end of an event-loop turn. */
function turns(): { schedule: (fn: () => void) => void; endTurn: () => void; pending: () => number } {
  let queued: Array<() => void> = [];
  return {
    schedule: (fn) => void queued.push(fn),
    endTurn: () => {
      const run = queued;
      queued = [];
      for (const fn of run) fn();
    },
    pending: () => queued.length,
  };
}

describe('batchLines (the access log)', () => {
  it('writes the lines of one event-loop turn in one write, in order', () => {
    const writes: string[] = [];
    const t = turns();
    const batch = batchLines((chunk) => writes.push(chunk), t.schedule);
    batch.push('a\n');
    batch.push('b\n');
    batch.push('c\n');
    expect(writes).toEqual([]);
    expect(t.pending()).toBe(1); // one flush per turn, however many lines
    t.endTurn();
    expect(writes).toEqual(['a\nb\nc\n']);
    batch.push('d\n');
    t.endTurn();
    expect(writes).toEqual(['a\nb\nc\n', 'd\n']);
  });

  it('keeps every write at or below PIPE_BUF (4096 bytes), cut between lines, counting bytes not characters', () => {
    const writes: string[] = [];
    const t = turns();
    const batch = batchLines((chunk) => writes.push(chunk), t.schedule);
    const line = `${'é'.repeat(99)}\n`; // 199 bytes in UTF-8, 100 characters
    for (let i = 0; i < 50; i += 1) batch.push(line);
    t.endTurn();
    expect(writes.join('')).toBe(line.repeat(50));
    for (const chunk of writes) {
      expect(Buffer.byteLength(chunk)).toBeLessThanOrEqual(4096);
      expect(chunk.endsWith('\n')).toBe(true);
    }
    expect(writes.map((w) => Buffer.byteLength(w))).toEqual([20 * 199, 20 * 199, 10 * 199]);
  });

  it('flush() writes what is queued at once (the process is exiting), and a later turn writes nothing twice', () => {
    const writes: string[] = [];
    const t = turns();
    const batch = batchLines((chunk) => writes.push(chunk), t.schedule);
    batch.push('last\n');
    batch.flush();
    expect(writes).toEqual(['last\n']);
    t.endTurn();
    expect(writes).toEqual(['last\n']);
  });

  it('takes a logger\'s lines as they are, one JSON object per line', () => {
    const writes: string[] = [];
    const t = turns();
    const batch = batchLines((chunk) => writes.push(chunk), t.schedule);
    const log = createLogger({ level: 'info', pid: 7, worker: 2, write: batch.push, wallClock: () => new Date(0) });
    log('info', 'request', { method: 'GET', path: '/', status: 200, big: 10n });
    log('debug', 'not at info level');
    t.endTurn();
    expect(writes).toEqual([
      '{"ts":"1970-01-01T00:00:00.000Z","level":"info","msg":"request","worker":2,"pid":7,"method":"GET","path":"/","status":200,"big":"10"}\n',
    ]);
  });
});

describe('syslog priorities for the journal', () => {
  it('prefixes each line with its priority when asked (journald strips it and stores the line at it)', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', pid: 7, write: (l) => void lines.push(l), wallClock: () => new Date(0), syslogPrefix: true });
    log('error', 'a');
    log('warn', 'b');
    log('info', 'c');
    log('debug', 'd');
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>']);
    expect(JSON.parse(lines[0]!.slice(3))).toEqual({ ts: '1970-01-01T00:00:00.000Z', level: 'error', msg: 'a', pid: 7 });
    // Off by default: plain JSON lines.
    const plain: string[] = [];
    createLogger({ level: 'info', pid: 7, write: (l) => void plain.push(l), wallClock: () => new Date(0) })('error', 'a');
    expect(plain).toEqual(['{"ts":"1970-01-01T00:00:00.000Z","level":"error","msg":"a","pid":7}\n']);
  });

  it("wants the prefix only when JOURNAL_STREAM names stdout's device and inode", () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipit-journal-stream-'));
    const fd = openSync(join(dir, 'out'), 'w');
    try {
      const st = fstatSync(fd);
      expect(journalPrefixWanted({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, fd)).toBe(true);
      // Set by systemd for another stream (stdout redirected since, e.g. to a file or a pipe): plain lines.
      expect(journalPrefixWanted({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` }, fd)).toBe(false);
      expect(journalPrefixWanted({}, fd)).toBe(false);
      expect(journalPrefixWanted({ JOURNAL_STREAM: '' }, fd)).toBe(false);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
