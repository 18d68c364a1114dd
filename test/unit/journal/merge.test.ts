import type { JournalEntry } from '../../../src/host/types.js';
import { JournalMerger, mergeByTime, newest } from '../../../src/journal/merge.js';
import { parseSince } from '../../../src/journal/since.js';
import { entryJson, formatEntry } from '../../../src/journal/format.js';
import { createRedactor } from '../../../src/lib/redact.js';

const entry = (timeUs: number, message: string, cursor = `c${timeUs}`): JournalEntry => ({ cursor, timeUs, priority: 6, identifier: 'app', pid: 7, message });
const lines = (entries: { host: string; message: string }[]) => entries.map((e) => `${e.host} ${e.message}`);

describe('merging hosts\' journals by time', () => {
  it('interleaves by timestamp; ties keep the hosts\' order and each host\'s own order', () => {
    const merged = mergeByTime(
      new Map([
        ['web1', [entry(1, 'a1'), entry(5, 'a5'), entry(5, 'a5bis')]],
        ['web2', [entry(2, 'b2'), entry(5, 'b5'), entry(9, 'b9')]],
        ['web3', []],
      ]),
    );
    expect(lines(merged)).toEqual(['web1 a1', 'web2 b2', 'web1 a5', 'web1 a5bis', 'web2 b5', 'web2 b9']);
  });

  it('keeps the newest N of the merged stream', () => {
    expect(newest([1, 2, 3, 4], 2)).toEqual([3, 4]);
    expect(newest([1, 2], 0)).toEqual([]);
    expect(newest([1, 2], undefined)).toEqual([1, 2]);
  });

  it('following: an entry is released only when every followed host has been read past it', () => {
    const m = new JournalMerger(['web1', 'web2']);
    m.add('web1', { entries: [entry(10, 'a10'), entry(30, 'a30')], readAtUs: 35 });
    // web2 has not answered yet: nothing is final.
    expect(m.take()).toEqual([]);
    m.add('web2', { entries: [entry(20, 'b20')], readAtUs: 25 });
    expect(lines(m.take())).toEqual(['web1 a10', 'web2 b20']);
    // a30 waits until web2 has been read past 30: web2 could still have a line at 28.
    m.add('web2', { entries: [entry(28, 'b28')], readAtUs: 40 });
    expect(lines(m.take())).toEqual(['web2 b28', 'web1 a30']);
  });

  it('a host that drops out no longer holds the others back', () => {
    const m = new JournalMerger(['web1', 'web2']);
    m.add('web1', { entries: [entry(10, 'a10')], readAtUs: 50 });
    expect(m.take()).toEqual([]);
    m.drop('web2');
    expect(lines(m.take())).toEqual(['web1 a10']);
    m.add('web1', { entries: [entry(60, 'a60')], readAtUs: 55 });
    expect(m.take()).toEqual([]);
    expect(lines(m.drain())).toEqual(['web1 a60']);
  });

  it('a line journald wrote late (before the watermark) is released at once', () => {
    const m = new JournalMerger(['web1']);
    m.add('web1', { entries: [], readAtUs: 100 });
    m.add('web1', { entries: [entry(90, 'late')], readAtUs: 110 });
    expect(lines(m.take())).toEqual(['web1 late']);
  });
});

describe('printing entries', () => {
  const e = { ...entry(Date.UTC(2026, 10, 25, 13, 1, 2, 345) * 1000 + 678, 'token=s3cr3t-value ok'), host: 'web1' };
  const redact = createRedactor(['s3cr3t-value']);

  it('prefixes the host, then the time in ISO UTC, the process and the message, redacted', () => {
    expect(formatEntry(e, 5, redact)).toBe('web1   2026-11-25T13:01:02.345Z app[7]: token=[redacted] ok');
  });

  it('--json: one object per line, redacted', () => {
    expect(JSON.parse(entryJson(e, redact))).toEqual({
      host: 'web1',
      time: '2026-11-25T13:01:02.345Z',
      timeUs: e.timeUs,
      priority: 6,
      identifier: 'app',
      pid: 7,
      message: 'token=[redacted] ok',
    });
  });
});

describe('--since', () => {
  const now = () => Date.UTC(2026, 10, 25, 14, 0, 0);
  it('takes durations back from each host\'s clock', () => {
    expect(parseSince('10m', now)).toEqual({ secondsAgo: 600 });
    expect(parseSince('1h30m', now)).toEqual({ secondsAgo: 5400 });
    expect(parseSince('1500ms', now)).toEqual({ secondsAgo: 2 });
  });
  it('takes absolute times, ISO with a zone exactly', () => {
    expect(parseSince('2026-11-25T13:00:00Z', now)).toEqual({ epochUs: Date.UTC(2026, 10, 25, 13) * 1000 });
    expect(parseSince('2026-11-25 13:00', now)).toEqual({ epochUs: new Date(2026, 10, 25, 13, 0).getTime() * 1000 });
    expect(parseSince('2026-11-25', now)).toEqual({ epochUs: new Date(2026, 10, 25).getTime() * 1000 });
  });
  it.each(['yesterday', '10', '-5m', '2026-13-45x', '10 min'])('refuses %j as a usage error (exit 2)', (text) => {
    expect(() => parseSince(text, now)).toThrow(expect.objectContaining({ code: 'USAGE', exitCode: 2 }));
  });
});
