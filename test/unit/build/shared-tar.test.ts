import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { sharedTar } from '../../../src/build/shared-tar.js';

describe('sharedTar', () => {
  it('packs each distinct set of paths once and streams the same bytes to every host', async () => {
    const opened: string[][] = [];
    const tar = sharedTar((paths) => {
      opened.push(paths);
      return Readable.from([Buffer.from(`tar of ${paths.join(',')}:`), Buffer.alloc(200_000, 7)]);
    });
    const [a, b, c] = await Promise.all([buffer(tar.open(['x', 'y'])), buffer(tar.open(['x', 'y'])), buffer(tar.open(['z']))]);
    expect(a.equals(b)).toBe(true);
    expect(a.subarray(0, 11).toString()).toBe('tar of x,y:');
    expect(a.length).toBe(200_011);
    expect(c.subarray(0, 9).toString()).toBe('tar of z:');
    expect(opened).toEqual([['x', 'y'], ['z']]);
    // Asked again later (a host whose upload is retried): still packed once.
    expect((await buffer(tar.open(['x', 'y']))).equals(a)).toBe(true);
    expect(tar.packed()).toBe(2);
  });

  it('gives every waiting host the error of a failed pack, and packs again on the next ask', async () => {
    let calls = 0;
    const tar = sharedTar(() => {
      calls++;
      if (calls === 1) {
        return new Readable({
          read() {
            this.destroy(new Error('tar of the artifact failed (exit 2)'));
          },
        });
      }
      return Readable.from([Buffer.from('ok')]);
    });
    const results = await Promise.allSettled([buffer(tar.open(['a'])), buffer(tar.open(['a']))]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'))).toEqual([
      'tar of the artifact failed (exit 2)',
      'tar of the artifact failed (exit 2)',
    ]);
    expect((await buffer(tar.open(['a']))).toString()).toBe('ok');
    expect(calls).toBe(2);
  });
});
