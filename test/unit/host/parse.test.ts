import { formatManifest, manifestDelta, parseLock, parseManifest, parseServiceLines, splitTagged } from '../../../src/host/parse.js';

describe('parsing what hosts print', () => {
  it('reads systemctl show lines and the worker count', () => {
    expect(
      parseServiceLines(['ActiveState=active', 'SubState=running', 'MainPID=812', 'NRestarts=2', 'ActiveEnterTimestamp=@1764075661', 'Workers=4']),
    ).toEqual({ active: 'active', sub: 'running', mainPid: 812, restarts: 2, since: '2025-11-25T13:01:01.000Z', workers: 4 });
    expect(parseServiceLines(['ActiveState=inactive', 'SubState=dead', 'MainPID=0', 'NRestarts=0', 'ActiveEnterTimestamp='])).toMatchObject({
      active: 'inactive',
      since: null,
      workers: 0,
    });
    // The socket's port (IPv4, IPv6, several listeners: the first stream one); none without a socket unit.
    expect(parseServiceLines(['ActiveState=active', 'Listen=0.0.0.0:8193 (Stream)']).port).toBe(8193);
    expect(parseServiceLines(['Listen=[::]:9000 (Stream) 127.0.0.1:9001 (Stream)']).port).toBe(9000);
    expect(parseServiceLines(['Listen=']).port).toBeUndefined();
  });

  it('reads the release the main process runs from its working directory (inspect only)', () => {
    expect(parseServiceLines(['MainPID=812', 'Cwd=/srv/hello/releases/20261125T130501Z']).runs).toBe('20261125T130501Z');
    // Running from elsewhere (a unit edited by hand): no release; not read at all (the gate's rounds): absent.
    expect(parseServiceLines(['MainPID=812', 'Cwd=/']).runs).toBeNull();
    expect('runs' in parseServiceLines(['MainPID=812'])).toBe(false);
  });

  it('groups tagged lines', () => {
    const tagged = splitTagged('current\treleases/r2\nrelease\t{"id":"r1"}\nrelease\t{"id":"r2"}\nnoise\n');
    expect(tagged.get('current')).toEqual(['releases/r2']);
    expect(tagged.get('release')).toHaveLength(2);
  });

  it('treats a lock directory without info as held by someone unknown', () => {
    expect(parseLock('')).toMatchObject({ by: 'unknown', message: 'lock without info' });
    expect(parseLock(undefined)).toBeNull();
  });

  it('round-trips the manifest and diffs by path, content and mode', () => {
    const a = [
      { path: 'app/main.py', mode: 0o644, size: 10, sha256: 'aa' },
      { path: 'app/run.sh', mode: 0o755, size: 5, sha256: 'bb' },
      { path: 'my file.txt', mode: 0o644, size: 1, sha256: 'cc' },
    ];
    expect(parseManifest(formatManifest(a).trim().split('\n'))).toEqual(a);
    const b = [
      { ...a[0]!, sha256: 'changed' },
      { ...a[1]!, mode: 0o644 },
      a[2]!,
      { path: 'new.py', mode: 0o644, size: 1, sha256: 'dd' },
    ];
    const baseLines = formatManifest(a).trim().split('\n');
    const delta = manifestDelta(b, baseLines);
    expect(delta.reuse).toBe(1);
    expect(delta.send.map((f) => f.path)).toEqual(['app/main.py', 'app/run.sh', 'new.py']);
    expect(delta.drop).toBe('app/main.py\napp/run.sh\n');
    // The kept line is the base's own text, followed by the sent lines: what the host composes.
    expect(delta.manifest).toBe(`${baseLines[2]}\n${formatManifest(delta.send)}`);
    expect(delta.sent).toBe(formatManifest(delta.send));
  });

  it('decides per path as the host does: a base line it cannot read is dropped, never kept', () => {
    const good = { path: 'a.py', mode: 0o644, size: 1, sha256: 'aa' };
    const delta = manifestDelta([good, { path: 'b.py', mode: 0o644, size: 1, sha256: 'bb' }], [...formatManifest([good]).trim().split('\n'), 'b.py\tgarbage']);
    expect(delta.reuse).toBe(1);
    expect(delta.drop).toBe('b.py\n');
    expect(delta.send.map((f) => f.path)).toEqual(['b.py']);
  });
});
