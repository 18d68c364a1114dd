import { createHash, randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * sha256 of the build dir's files from the previous deploy, reused for a file whose (size, mtime, ctime, inode,
 * device) are unchanged: like git's index, a 2,000-file artifact is then stat'ed instead of read. A hash is
 * trusted only when a later change of the file must show in its stat:
 *
 * - A write gives the file an mtime and a ctime from the clock of its filesystem at the time of the write. A
 *   file read at time T after it was last written at M can be written again without changing its stat only if
 *   that write gets the same timestamps, i.e. falls in the same clock tick as M, so M is not older than T
 *   ("racily clean" in git). Hashes are recorded only for files whose mtime and ctime are older, by a margin,
 *   than `stamp`: a filesystem time taken before any file of the scan was read.
 * - ctime cannot be set by a program (`touch -d` and `cp -p` set mtime, and ctime becomes now), and inode and
 *   device change when a file is replaced by another one (rename, rsync, a fresh checkout).
 * - The margin covers timestamps truncated to a coarser tick than the cache's filesystem has (1 s on some
 *   NFS servers and older filesystems, 2 s on FAT).
 *
 * Anything unexpected (no file, another format or directory, a checksum that does not match, a cache that
 * cannot be written) costs a rehash, never a wrong hash. Entries of files no longer in the dir are dropped.
 */
const FORMAT = 'shipit-hash-cache-v1';
const MARGIN_MS = 2_000;
/** Cache files kept: those of the build dirs scanned most recently (each is ~150 bytes a file). */
const KEEP = 32;
/** An entry: path, then its identity and hash (`size mtimeNs ctimeNs ino dev sha256`, tab-separated). */
const ENTRY = /^\d+\t\d+\t\d+\t\d+\t\d+\t[0-9a-f]{64}$/;

/** What identifies a file's content without reading it; bigint nanoseconds (`lstat(..., { bigint: true })`). */
export type FileIdentity = Pick<BigIntStats, 'size' | 'mtimeNs' | 'ctimeNs' | 'ino' | 'dev'>;

export interface HashCache {
  /** The sha256 recorded for `path` when its identity is exactly the recorded one. */
  lookup(path: string, stat: FileIdentity): string | undefined;
  /** A freshly computed hash; kept only if the file is old enough to be trusted later (see above). */
  record(path: string, stat: FileIdentity, sha256: string): void;
  /** Writes the entries of the paths looked up or recorded since opening, if anything changed. Never throws. */
  save(): Promise<void>;
}

/** The cache file of one build dir (an absolute path): `<root>/hashes/<sha256 of the path>.tsv`. */
export function hashCacheFile(root: string, dir: string): string {
  return join(root, 'hashes', `${sha256Hex(dir).slice(0, 32)}.tsv`);
}

/**
 * Opens the cache of `dir` (an absolute path) under `root` (lib/cache-dir.ts). Call before reading any file:
 * the time of opening is the stamp that recorded hashes are checked against. `marginMs`: see above (tests
 * lower it to avoid waiting).
 */
export async function openHashCache(root: string, dir: string, options: { marginMs?: number } = {}): Promise<HashCache> {
  const file = hashCacheFile(root, dir);
  const stamp = await filesystemNow(join(root, 'hashes'));
  const trustedBefore = stamp === null ? null : stamp - BigInt(options.marginMs ?? MARGIN_MS) * 1_000_000n;
  const header = `${FORMAT}\t${dir}`;
  // path → `size\tmtimeNs\tctimeNs\tino\tdev\tsha256`: two strings an entry, 2,000 files in ~0.5 MB.
  const previous = await readEntries(file, header);
  const next = new Map<string, string>();
  let changed = false;
  return {
    lookup(path, stat) {
      const entry = previous.get(path);
      if (entry === undefined || !entry.startsWith(identity(stat))) return undefined;
      next.set(path, entry);
      return entry.slice(-64);
    },
    record(path, stat, sha256) {
      changed = true;
      if (trustedBefore === null || stat.mtimeNs >= trustedBefore || stat.ctimeNs >= trustedBefore) return;
      next.set(path, `${identity(stat)}${sha256}`);
    },
    async save() {
      // Unchanged files only: the same entries, minus those of deleted files.
      if (stamp === null || (!changed && next.size === previous.size)) return;
      const body = [header, ...[...next].map(([path, entry]) => `${path}\t${entry}`)].join('\n');
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, `${sha256Hex(body)}\n${body}\n`);
        await rename(tmp, file); // atomic: a concurrent deploy reads the old file or this one, whole
        await pruneCacheFiles(join(root, 'hashes'));
      } catch {
        await rm(tmp, { force: true }).catch(() => {});
      }
    },
  };
}

/** Keeps the KEEP newest cache files, and removes what a crashed run left (temporary files over an hour old). */
async function pruneCacheFiles(dir: string): Promise<void> {
  const names = await readdir(dir);
  const files = await Promise.all(names.map(async (name) => ({ name, mtimeMs: (await stat(join(dir, name)).catch(() => null))?.mtimeMs ?? 0 })));
  const caches = files.filter((f) => f.name.endsWith('.tsv')).sort((a, b) => b.mtimeMs - a.mtimeMs);
  const leftovers = files.filter((f) => !f.name.endsWith('.tsv') && f.mtimeMs < Date.now() - 3_600_000);
  await Promise.all([...caches.slice(KEEP), ...leftovers].map((f) => rm(join(dir, f.name), { force: true })));
}

/** The filesystem's clock now, as it stamps files (it may lag the system clock by a tick): null if unwritable. */
async function filesystemNow(dir: string): Promise<bigint | null> {
  const probe = join(dir, `.stamp.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(probe, 'wx');
    try {
      const { mtimeNs, ctimeNs } = await handle.stat({ bigint: true });
      return mtimeNs < ctimeNs ? mtimeNs : ctimeNs;
    } finally {
      await handle.close();
      await rm(probe, { force: true });
    }
  } catch {
    return null;
  }
}

/**
 * The file is `<sha256 of the rest>\n<header>\n<path>\t<entry>\n…`: a truncated, edited or foreign file does
 * not check out and is ignored whole. Paths cannot hold tabs or newlines (scanArtifact refuses them).
 */
async function readEntries(file: string, header: string): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  try {
    const text = await readFile(file, 'utf8');
    const body = text.slice(65, -1);
    if (text[64] !== '\n' || !text.endsWith('\n') || sha256Hex(body) !== text.slice(0, 64)) return entries;
    const lines = body.split('\n');
    if (lines[0] !== header) return entries;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const tab = line.indexOf('\t');
      const entry = line.slice(tab + 1);
      if (tab > 0 && ENTRY.test(entry)) entries.set(line.slice(0, tab), entry);
    }
  } catch {
    // no cache yet, or unreadable: every file is hashed
  }
  return entries;
}

function identity(stat: FileIdentity): string {
  return `${stat.size}\t${stat.mtimeNs}\t${stat.ctimeNs}\t${stat.ino}\t${stat.dev}\t`;
}

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
