import * as scripts from '../../../src/remote/scripts.js';
import { parseJournal, parseUnitFiles } from '../../../src/host/parse.js';

const layout = { deployTo: '/srv/hello', app: 'hello', serviceUser: 'hello' };
const PREAMBLE = ['set -u', 'D=/srv/hello', 'A=hello', 'U=hello', 'S="$D/.shipit"'];
const JOURNALCTL = 'journalctl --unit="$A.service" --output=json --all --quiet --no-pager --output-fields=MESSAGE,PRIORITY,_PID,SYSLOG_IDENTIFIER,_COMM';

describe('read-only scripts (the exact text is what runs on the host)', () => {
  it('reads the newest lines of the journal, newest first, after noting the host clock', () => {
    expect(scripts.journalScript(layout, { lines: 200 })).toBe(
      [...PREAMBLE, 'printf "now\\t%s\\n" "$(date +%s%6N)"', `${JOURNALCTL} --reverse --lines=200`].join('\n'),
    );
  });

  it('reads since a time (relative by the host clock, or absolute to the microsecond)', () => {
    expect(scripts.journalScript(layout, { since: { secondsAgo: 600 }, lines: 5 }).split('\n').at(-1)).toBe(`${JOURNALCTL} --since=-600s --reverse --lines=5`);
    expect(scripts.journalScript(layout, { since: { epochUs: 1795613740000042 } }).split('\n').at(-1)).toBe(`${JOURNALCTL} --since=@1795613740.000042`);
  });

  it("reads the warnings of the unit's current start only: its invocation's processes, at priority 4 or more urgent", () => {
    const JSON_OUT = '--output=json --all --quiet --no-pager --output-fields=MESSAGE,PRIORITY,_PID,SYSLOG_IDENTIFIER,_COMM';
    expect(scripts.journalScript(layout, { since: { secondsAgo: 9 }, thisStart: true, maxPriority: 4 })).toBe(
      [
        ...PREAMBLE,
        'printf "now\\t%s\\n" "$(date +%s%6N)"',
        'i=$(systemctl show -p InvocationID --value "$A.service" 2> /dev/null || true)',
        'if [ -n "$i" ]; then m="_SYSTEMD_INVOCATION_ID=$i"; else m="--unit=$A.service"; fi',
        `journalctl "$m" ${JSON_OUT} --priority=4 --since=-9s | head -n 500`,
      ].join('\n'),
    );
    expect(() => scripts.journalScript(layout, { maxPriority: 8 })).toThrow(/invalid journal priority 8/);
  });

  it('follows from a cursor, quoted, and refuses anything that is not a cursor', () => {
    const cursor = 's=33ac;i=cb65;b=d8a1;m=7b64;t=6611;x=67e2';
    expect(scripts.journalScript(layout, { afterCursor: cursor, lines: 5 }).split('\n').at(-1)).toBe(`${JOURNALCTL} --after-cursor='${cursor}'`);
    expect(() => scripts.journalScript(layout, { afterCursor: "x'; rm -rf /" })).toThrow(/invalid journal cursor/);
    expect(() => scripts.journalScript(layout, { lines: -1 })).toThrow(/invalid line count/);
  });

  it('prints installed unit files byte for byte (base64) or absent', () => {
    expect(scripts.unitFilesScript(layout, ['hello.socket', 'hello.service'])).toBe(
      [
        ...PREAMBLE,
        'for n in hello.socket hello.service; do',
        '  f="/etc/systemd/system/$n"',
        '  if [ -f "$f" ]; then printf "unit\\t%s\\t%s\\n" "$n" "$(base64 -w0 < "$f")"; else printf "absent\\t%s\\n" "$n"; fi',
        'done',
      ].join('\n'),
    );
    expect(() => scripts.unitFilesScript(layout, ['../../etc/passwd'])).toThrow(/invalid unit name/);
  });

  it('compares the env lines on stdin with shared/env and shared/secrets.env read-only, printing names only', () => {
    // What it prints is tested by running it (test/unit/host/env-changes.test.ts); here, that a plan's env step
    // reads the two files the unit reads and writes nothing on the host.
    const text = scripts.envChangesScript(layout);
    expect(text.split('\n').slice(0, PREAMBLE.length)).toEqual(PREAMBLE);
    expect(text).toContain('for f in "$D/shared/env" "$D/shared/secrets.env"; do');
    expect(text).not.toMatch(/>|\b(?:mv|rm|cp|install|chmod|chown|tee|mkdir|ln)\b/);
  });
});

describe('parsing what the read-only scripts print', () => {
  it('reads journal JSON: byte-array messages, missing fields, newest-first output put back in order', () => {
    const out = [
      'now\t1795613750000000',
      JSON.stringify({ __CURSOR: 'c2', __REALTIME_TIMESTAMP: '1795613740539775', MESSAGE: [104, 195, 169], PRIORITY: '3', _PID: '17', _COMM: 'gunicorn' }),
      JSON.stringify({ __CURSOR: 'c1', __REALTIME_TIMESTAMP: '1795613740288285', MESSAGE: 'GET / 200', SYSLOG_IDENTIFIER: 'hello' }),
      'not json',
    ].join('\n');
    expect(parseJournal(out, true)).toEqual({
      readAtUs: 1795613750000000,
      entries: [
        { cursor: 'c1', timeUs: 1795613740288285, priority: 6, identifier: 'hello', pid: null, message: 'GET / 200' },
        { cursor: 'c2', timeUs: 1795613740539775, priority: 3, identifier: 'gunicorn', pid: 17, message: 'hé' },
      ],
    });
  });

  it('reads unit files in the order asked', () => {
    const out = `absent\thello.socket\nunit\thello.service\t${Buffer.from('[Unit]\nA=1\n').toString('base64')}\n`;
    expect(parseUnitFiles(out, ['hello.socket', 'hello.service'])).toEqual([
      { name: 'hello.socket', content: null },
      { name: 'hello.service', content: '[Unit]\nA=1\n' },
    ]);
  });
});
