import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Packs each distinct set of paths once per run, however many hosts ask for it: a first deploy sends the same
 * files to every host, and gzip on the deployer is the one cost that would otherwise grow with the fleet (12
 * hosts = 12 gzips of the same bytes). The tar is written to a temporary file and every host streams it from
 * there (the page cache), so memory does not grow with the artifact either. Files go when the process exits.
 */
export function sharedTar(open: (paths: string[]) => Readable): { open: (paths: string[]) => Readable; packed: () => number } {
  const packs = new Map<string, Promise<string>>();
  let dir: string | undefined;
  const workDir = () => {
    if (dir === undefined) {
      dir = mkdtempSync(join(tmpdir(), 'shipit-tar-'));
      const created = dir;
      process.once('exit', () => rmSync(created, { recursive: true, force: true }));
    }
    return dir;
  };
  const pack = (paths: string[]): Promise<string> => {
    const key = createHash('sha256').update(paths.join('\0')).digest('hex');
    let file = packs.get(key);
    if (file === undefined) {
      const path = join(workDir(), `${key}.tar.gz`);
      file = pipeline(open(paths), createWriteStream(path)).then(() => path);
      // A failed pack is not kept: every host that asked gets the error, the next ask tries again.
      file.catch(() => packs.delete(key));
      packs.set(key, file);
    }
    return file;
  };
  return {
    open(paths) {
      const out = new PassThrough();
      pack(paths).then(
        (path) => {
          const source = createReadStream(path);
          source.on('error', (error) => out.destroy(error));
          source.pipe(out);
        },
        (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
      );
      return out;
    },
    packed: () => packs.size,
  };
}
