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

  it('keeps the 16 newest manifests of an app', async () => {
    const cache = fileManifestCache(root);
    for (let i = 0; i < 20; i++) {
      await cache.put('web', `r${i}`, `f\t0644\t${i}\t1\n`);
      for (const name of readdirSync(join(root, 'web'))) {
        const n = Number(/^r(\d+)\./.exec(name)![1]);
        utimesSync(join(root, 'web', name), new Date(n * 1000), new Date(n * 1000));
      }
    }
    const known = await cache.known('web', 100);
    expect(known).toHaveLength(16);
    expect(known[0]!.release).toBe('r19');
    expect(known.at(-1)!.release).toBe('r4');
  });

  it('is a cache miss, not an error, when the directory cannot be written', async () => {
    writeFileSync(join(root, 'web'), 'a file where the directory should be');
    const cache = fileManifestCache(root);
    await expect(cache.put('web', 'r1', 'x')).resolves.toBeUndefined();
    expect(await cache.known('web')).toEqual([]);
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
