import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanArtifact } from '../../../src/build/artifact.js';
import { hashCacheFile, openHashCache, type FileIdentity } from '../../../src/build/hash-cache.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const FAKE = 'f'.repeat(64);
const HOUR_NS = 3_600_000_000_000n;
const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'shipit-hash-cache-'));
  dir = join(root, 'build');
  mkdirSync(join(dir, 'app'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** An identity last changed an hour ago: old enough to be trusted. */
function oldIdentity(overrides: Partial<FileIdentity> = {}): FileIdentity {
  const then = nowNs() - HOUR_NS;
  return { size: 12n, mtimeNs: then, ctimeNs: then, ino: 42n, dev: 7n, ...overrides };
}

async function recordAndReopen(entries: [string, FileIdentity, string][], options: { marginMs?: number } = {}) {
  const cache = await openHashCache(root, dir, options);
  for (const [path, identity, hash] of entries) cache.record(path, identity, hash);
  await cache.save();
  return openHashCache(root, dir, options);
}

/** Writes files, then waits until they are older than the filesystem clock's next tick. */
async function writeTree(files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  await sleep(30);
}

const hashes = async (cache?: Awaited<ReturnType<typeof openHashCache>>) =>
  Object.fromEntries((await scanArtifact(dir, { cache })).files.map((f) => [f.path, f.sha256]));

describe('openHashCache', () => {
  it('returns a recorded hash only for the exact identity it was recorded with', async () => {
    const identity = oldIdentity();
    const cache = await recordAndReopen([['app/main.py', identity, FAKE]]);
    expect(cache.lookup('app/main.py', identity)).toBe(FAKE);
    expect(cache.lookup('app/other.py', identity)).toBeUndefined();
    for (const changed of [
      { size: 13n },
      { mtimeNs: identity.mtimeNs + 1n },
      { ctimeNs: identity.ctimeNs + 1n },
      { ino: 43n },
      { dev: 8n },
    ]) {
      expect(cache.lookup('app/main.py', { ...identity, ...changed })).toBeUndefined();
    }
  });

  it('never records a file changed too recently to be trusted: a change within the same clock tick would not show in its stat', async () => {
    const recent = nowNs();
    const cache = await recordAndReopen([
      ['mtime-now', oldIdentity({ mtimeNs: recent }), FAKE],
      ['ctime-now', oldIdentity({ ctimeNs: recent }), FAKE],
      ['future', oldIdentity({ mtimeNs: recent + HOUR_NS, ctimeNs: recent + HOUR_NS }), FAKE],
      ['one-second-ago', oldIdentity({ ctimeNs: recent - 1_000_000_000n }), FAKE],
    ]);
    expect(cache.lookup('mtime-now', oldIdentity({ mtimeNs: recent }))).toBeUndefined();
    expect(cache.lookup('ctime-now', oldIdentity({ ctimeNs: recent }))).toBeUndefined();
    expect(cache.lookup('future', oldIdentity({ mtimeNs: recent + HOUR_NS, ctimeNs: recent + HOUR_NS }))).toBeUndefined();
    // Within the margin (timestamps of a coarser filesystem may be truncated by up to 2 s).
    expect(cache.lookup('one-second-ago', oldIdentity({ ctimeNs: recent - 1_000_000_000n }))).toBeUndefined();
  });

  it('ignores a cache file that does not check out, whole: edited, truncated, garbage, or another directory’s', async () => {
    const identity = oldIdentity();
    await recordAndReopen([['app/main.py', identity, FAKE], ['run.sh', identity, FAKE]]);
    const file = hashCacheFile(root, dir);
    const good = readFileSync(file, 'utf8');
    const otherDir = join(root, 'elsewhere');
    await (async () => {
      const other = await openHashCache(root, otherDir);
      other.record('app/main.py', identity, FAKE);
      await other.save();
    })();
    const foreign = readFileSync(hashCacheFile(root, otherDir), 'utf8');
    for (const bad of [good.replace(FAKE, 'e'.repeat(64)), good.slice(0, -20), 'garbage\n', '', foreign]) {
      writeFileSync(file, bad);
      const cache = await openHashCache(root, dir);
      expect(cache.lookup('app/main.py', identity)).toBeUndefined();
    }
  });

  it('drops the entries of files that are gone', async () => {
    const identity = oldIdentity();
    const first = await recordAndReopen([['kept', identity, FAKE], ['deleted', identity, FAKE]]);
    expect(first.lookup('kept', identity)).toBe(FAKE);
    await first.save();
    const second = await openHashCache(root, dir);
    expect(second.lookup('kept', identity)).toBe(FAKE);
    expect(second.lookup('deleted', identity)).toBeUndefined();
  });

  it('keeps the cache files of the 32 build dirs scanned last, and removes what a crashed run left', async () => {
    const hashDir = join(root, 'hashes');
    mkdirSync(hashDir, { recursive: true });
    const minutesAgo = (n: number) => Date.now() / 1000 - n * 60;
    for (let i = 0; i < 40; i++) {
      writeFileSync(join(hashDir, `other-${i}.tsv`), 'x');
      utimesSync(join(hashDir, `other-${i}.tsv`), minutesAgo(i + 1), minutesAgo(i + 1));
    }
    writeFileSync(join(hashDir, 'crashed.tsv.1.ab.tmp'), 'x');
    utimesSync(join(hashDir, 'crashed.tsv.1.ab.tmp'), minutesAgo(90), minutesAgo(90));
    writeFileSync(join(hashDir, 'running.tsv.2.cd.tmp'), 'x');
    await recordAndReopen([['app/main.py', oldIdentity(), FAKE]]);
    const left = readdirSync(hashDir).sort();
    expect(left.filter((name) => name.endsWith('.tsv'))).toHaveLength(32);
    expect(existsSync(hashCacheFile(root, dir))).toBe(true);
    expect(left).toContain('other-30.tsv');
    expect(left).not.toContain('other-31.tsv');
    expect(left).not.toContain('crashed.tsv.1.ab.tmp');
    expect(left).toContain('running.tsv.2.cd.tmp');
  });

  it('a cache that cannot be written costs hashing, never an error', async () => {
    const cache = await openHashCache(join('/etc/hostname', 'no-cache'), dir);
    cache.record('app/main.py', oldIdentity(), FAKE);
    await expect(cache.save()).resolves.toBeUndefined();
    expect(cache.lookup('app/main.py', oldIdentity())).toBeUndefined();
  });
});

describe('scanArtifact with a hash cache', () => {
  it('gives the same manifest as without one, before and after it is filled', async () => {
    await writeTree({ 'app/main.py': 'print("hi")\n', 'run.sh': '#!/bin/sh\n' });
    const plain = await scanArtifact(dir);
    expect(await scanArtifact(dir, { cache: await openHashCache(root, dir, { marginMs: 0 }) })).toEqual(plain);
    const cache = await openHashCache(root, dir, { marginMs: 0 });
    const cached = await scanArtifact(dir, { cache });
    await cache.save();
    expect(cached).toEqual(plain);
  });

  it('reads no file whose hash it has: a recorded hash is used as it is', async () => {
    await writeTree({ 'app/main.py': 'print("hi")\n', 'run.sh': '#!/bin/sh\n' });
    const cache = await openHashCache(root, dir, { marginMs: 0 });
    cache.record('app/main.py', lstatSync(join(dir, 'app/main.py'), { bigint: true }), FAKE);
    await cache.save();
    expect(await hashes(await openHashCache(root, dir, { marginMs: 0 }))).toEqual({ 'app/main.py': FAKE, 'run.sh': sha('#!/bin/sh\n') });
  });

  it('rehashes a file changed with the same size and its old mtime put back (touch -d, cp -p): ctime moved', async () => {
    await writeTree({ 'app/main.py': 'print("hi")\n' });
    const anHourAgo = Math.floor(Date.now() / 1000) - 3600; // whole seconds: utimes keeps them exactly
    utimesSync(join(dir, 'app/main.py'), anHourAgo, anHourAgo);
    await sleep(30);
    const before = lstatSync(join(dir, 'app/main.py'));
    const first = await openHashCache(root, dir, { marginMs: 0 });
    expect(await hashes(first)).toEqual({ 'app/main.py': sha('print("hi")\n') });
    await first.save();
    await sleep(30);
    writeFileSync(join(dir, 'app/main.py'), 'print("yo")\n');
    utimesSync(join(dir, 'app/main.py'), anHourAgo, anHourAgo);
    expect(lstatSync(join(dir, 'app/main.py')).mtimeMs).toBe(before.mtimeMs);
    expect(await hashes(await openHashCache(root, dir, { marginMs: 0 }))).toEqual({ 'app/main.py': sha('print("yo")\n') });
  });

  it('does not record a hash taken in the clock tick of the file’s last change: a change in that tick would not show', async () => {
    // Written after the cache was opened: whatever the clock granularity, its mtime is not older than the stamp.
    const cache = await openHashCache(root, dir, { marginMs: 0 });
    writeFileSync(join(dir, 'app/main.py'), 'print("hi")\n');
    const identity = lstatSync(join(dir, 'app/main.py'), { bigint: true });
    expect(await hashes(cache)).toEqual({ 'app/main.py': sha('print("hi")\n') });
    await cache.save();
    expect((await openHashCache(root, dir, { marginMs: 0 })).lookup('app/main.py', identity)).toBeUndefined();
  });

  it('rehashes a file replaced by another one of the same size and mtime', async () => {
    await writeTree({ 'app/main.py': 'print("hi")\n', 'app/next.py': 'print("yo")\n' });
    const anHourAgo = Math.floor(Date.now() / 1000) - 3600;
    for (const name of ['app/main.py', 'app/next.py']) utimesSync(join(dir, name), anHourAgo, anHourAgo);
    await sleep(30);
    const first = await openHashCache(root, dir, { marginMs: 0 });
    await hashes(first);
    await first.save();
    rmSync(join(dir, 'app/main.py'));
    writeFileSync(join(dir, 'app/main.py'), readFileSync(join(dir, 'app/next.py')));
    utimesSync(join(dir, 'app/main.py'), anHourAgo, anHourAgo);
    rmSync(join(dir, 'app/next.py'));
    expect(await hashes(await openHashCache(root, dir, { marginMs: 0 }))).toEqual({ 'app/main.py': sha('print("yo")\n') });
  });
});
