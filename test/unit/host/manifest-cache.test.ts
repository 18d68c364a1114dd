import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileManifestCache, memoryManifestCache, sha256Hex } from '../../../src/host/manifest-cache.js';

describe('fileManifestCache', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'shipit-manifests-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('returns what was put, by release and sha256, newest first', async () => {
    const cache = fileManifestCache(root);
    await cache.put('web', 'r1', 'a\t0644\tx\t1\n');
    utimesSync(join(root, 'web', `r1.${sha256Hex('a\t0644\tx\t1\n')}.tsv`), new Date(1000), new Date(1000));
    await cache.put('web', 'r2', 'b\t0644\ty\t1\n');
    expect(await cache.known('web')).toEqual([
      { release: 'r2', sha256: sha256Hex('b\t0644\ty\t1\n') },
      { release: 'r1', sha256: sha256Hex('a\t0644\tx\t1\n') },
    ]);
    expect(await cache.read('web', 'r1', sha256Hex('a\t0644\tx\t1\n'))).toBe('a\t0644\tx\t1\n');
    expect(await cache.known('other')).toEqual([]);
  });

  it('never returns an entry whose content does not hash to its name (edited, truncated)', async () => {
    const cache = fileManifestCache(root);
    await cache.put('web', 'r1', 'a\t0644\tx\t1\n');
    const sha = sha256Hex('a\t0644\tx\t1\n');
    writeFileSync(join(root, 'web', `r1.${sha}.tsv`), 'a\t0644\tEVIL\t1\n');
    expect(await cache.read('web', 'r1', sha)).toBeNull();
    expect(await cache.read('web', 'r9', sha)).toBeNull();
    expect(await cache.read('web', '../r1', sha)).toBeNull();
  });

  it('keeps the 32 most recently used manifests of an app, and names the 16 newest', async () => {
    const cache = fileManifestCache(root);
    for (let i = 0; i < 36; i++) {
      await cache.put('web', `r${i}`, `f\t0644\t${i}\t1\n`);
      for (const name of readdirSync(join(root, 'web'))) {
        const n = Number(/^r(\d+)\./.exec(name)![1]);
        utimesSync(join(root, 'web', name), new Date(n * 1000), new Date(n * 1000));
      }
    }
    const known = await cache.known('web', 100);
    expect(known).toHaveLength(32);
    expect(known[0]!.release).toBe('r35');
    expect(known.at(-1)!.release).toBe('r4');
    expect(await cache.known('web')).toHaveLength(16);
  });

  it('retains what the hosts keep: a retained entry is pruned last; find names the sha256 of a release', async () => {
    const cache = fileManifestCache(root);
    await cache.put('web', 'r0', 'kept\n');
    const age = () => {
      // Every entry older than now, in put order, so that a retain (which stamps now) makes one the newest.
      for (const name of readdirSync(join(root, 'web')).filter((n) => n.endsWith('.tsv'))) {
        const n = /^r(\d+)\./.exec(name) ? Number(/^r(\d+)\./.exec(name)![1]) : 0;
        utimesSync(join(root, 'web', name), new Date(n * 1000), new Date(n * 1000));
      }
    };
    for (let i = 1; i < 20; i++) await cache.put('web', `r${i}`, `f\t0644\t${i}\t1\n`);
    age();
    await cache.retain('web', ['r0', 'r-unknown']);
    for (let i = 20; i < 40; i++) {
      await cache.put('web', `r${i}`, `f\t0644\t${i}\t1\n`);
      for (const name of readdirSync(join(root, 'web')).filter((n) => n.startsWith(`r${i}.`))) utimesSync(join(root, 'web', name), new Date(i * 1000), new Date(i * 1000));
    }
    expect(await cache.find('web', 'r0')).toBe(sha256Hex('kept\n'));
    expect(await cache.read('web', 'r0', sha256Hex('kept\n'))).toBe('kept\n');
    expect(await cache.find('web', 'r1')).toBeNull(); // the least recently used went first
    expect(await cache.find('web', 'r39')).toBe(sha256Hex('f\t0644\t39\t1\n'));
    expect(await cache.find('other', 'r0')).toBeNull();
  });

  it('is a cache miss, not an error, when the directory cannot be written', async () => {
    writeFileSync(join(root, 'web'), 'a file where the directory should be');
    const cache = fileManifestCache(root);
    await expect(cache.put('web', 'r1', 'x')).resolves.toBeUndefined();
    expect(await cache.known('web')).toEqual([]);
  });
  it('remembers per app and host what runs there, for the next deploy to guess its base by', async () => {
    const cache = fileManifestCache(root);
    const sha = 'c'.repeat(64);
    expect(await cache.running('web', 'web1: deploy@10.0.0.1:22')).toBeNull();
    await cache.setRunning('web', 'web1: deploy@10.0.0.1:22', { release: 'r1', sha256: sha });
    await cache.setRunning('web', 'web2: deploy@10.0.0.2:22', { release: 'r0', sha256: sha });
    expect(await fileManifestCache(root).running('web', 'web1: deploy@10.0.0.1:22')).toEqual({ release: 'r1', sha256: sha });
    expect(await cache.running('api', 'web1: deploy@10.0.0.1:22')).toBeNull();
    // Not a manifest entry: the listing of manifests is unchanged.
    expect(await cache.known('web')).toEqual([]);
    await cache.setRunning('web', 'web1: deploy@10.0.0.1:22', null);
    expect(await cache.running('web', 'web1: deploy@10.0.0.1:22')).toBeNull();
    expect(await cache.running('web', 'web2: deploy@10.0.0.2:22')).toEqual({ release: 'r0', sha256: sha });
    // What cannot be a release or a sha256 is never recorded, nor read back.
    await cache.setRunning('web', 'x', { release: '../etc', sha256: sha });
    expect(await cache.running('web', 'x')).toBeNull();
    writeFileSync(join(root, 'web', 'hosts', readdirSync(join(root, 'web', 'hosts'))[0]!), 'r1 nothex\n');
    expect(await cache.running('web', 'web2: deploy@10.0.0.2:22')).toBeNull();
  });
});

describe('memoryManifestCache', () => {
  it('behaves like the file cache', async () => {
    const cache = memoryManifestCache();
    await cache.put('web', 'r1', 'x');
    await cache.put('web', 'r2', 'y');
    expect((await cache.known('web')).map((k) => k.release)).toEqual(['r2', 'r1']);
    expect(await cache.read('web', 'r1', sha256Hex('x'))).toBe('x');
    expect(await cache.read('web', 'r1', sha256Hex('y'))).toBeNull();
  });
});
