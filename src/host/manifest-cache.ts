import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from '../lib/cache-dir.js';

/**
 * Manifests of releases this deployer staged or has seen, so that a host need not send its current release's
 * manifest back on every deploy (~110 bytes a file). An entry is named by its sha256 and a host names the
 * sha256 of its own copy before the deployer uses one: a stale or foreign entry is never trusted, only unused.
 */
export interface ManifestCache {
  /** Entries known for `app`, newest first (at most `limit`). */
  known(app: string, limit?: number): Promise<{ release: string; sha256: string }[]>;
  /** The manifest text, or null when the entry is gone or does not hash to `sha256`. */
  read(app: string, release: string, sha256: string): Promise<string | null>;
  put(app: string, release: string, text: string): Promise<void>;
  /** The sha256 of the newest entry of `release`, or null: what a host that was moved to it (a rollback) runs. */
  find(app: string, release: string): Promise<string | null>;
  /**
   * Marks the entries of `releases` as just used: the releases a host keeps, which a rollback may return to,
   * so that pruning (which drops the least recently used) takes others first.
   */
  retain(app: string, releases: readonly string[]): Promise<void>;
  /**
   * What this deployer last made a host run (`host` names the SSH destination): the release and its
   * manifest's sha256, or null when unknown. A guess only: the host checks it under the lock before it is used.
   */
  running(app: string, host: string): Promise<KnownRelease | null>;
  setRunning(app: string, host: string, release: KnownRelease | null): Promise<void>;
}

export interface KnownRelease {
  release: string;
  sha256: string;
}

export const sha256Hex = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ENTRY = /^([A-Za-z0-9][A-Za-z0-9._-]*)\.([0-9a-f]{64})\.tsv$/;
const RUNNING = /^([A-Za-z0-9][A-Za-z0-9._-]*) ([0-9a-f]{64})$/;

/** A host's file name under `<app>/hosts/`: the destination hashed (it may hold characters a name cannot). */
const hostFile = (host: string) => sha256Hex(host).slice(0, 32);

/** How many manifests per app `known` names to a host: the newest (the likeliest bases). */
const KNOWN = 16;

/**
 * How many manifests per app are kept, the least recently used dropped first: what the hosts of a few
 * environments keep (keepReleases, 5 by default, and the newest bad one, each) is retained at every lock, so it
 * outlives a series of failed deploys, and a deploy after a rollback still finds the manifest of what it runs.
 */
const KEEP = 32;

/** The cache on disk: `<cacheDir>/manifests/<app>/<release>.<sha256>.tsv`. Failures only cost bytes on the wire. */
export function fileManifestCache(root: string = join(cacheDir(), 'manifests')): ManifestCache {
  const dirOf = (app: string) => (SAFE.test(app) ? join(root, app) : null);
  const list = async (app: string) => {
    const dir = dirOf(app);
    if (dir === null) return [];
    const names = await readdir(dir).catch(() => [] as string[]);
    const entries = await Promise.all(
      names.flatMap((name) => {
        const match = ENTRY.exec(name);
        if (!match) return [];
        return [stat(join(dir, name)).then((s) => ({ name, release: match[1]!, sha256: match[2]!, mtimeMs: s.mtimeMs }), () => null)];
      }),
    );
    return entries.filter((e) => e !== null).sort((a, b) => b.mtimeMs - a.mtimeMs);
  };
  return {
    async known(app, limit = KNOWN) {
      return (await list(app)).slice(0, limit).map(({ release, sha256 }) => ({ release, sha256 }));
    },
    async read(app, release, sha256) {
      const dir = dirOf(app);
      if (dir === null || !SAFE.test(release)) return null;
      const text = await readFile(join(dir, `${release}.${sha256}.tsv`), 'utf8').catch(() => null);
      return text !== null && sha256Hex(text) === sha256 ? text : null;
    },
    async find(app, release) {
      return (await list(app)).find((e) => e.release === release)?.sha256 ?? null;
    },
    async retain(app, releases) {
      const dir = dirOf(app);
      if (dir === null || releases.length === 0) return;
      const wanted = new Set(releases);
      const now = new Date();
      for (const entry of await list(app)) {
        // Gone meanwhile, or not ours to touch: it is only pruned sooner.
        if (wanted.has(entry.release)) await utimes(join(dir, entry.name), now, now).catch(() => undefined);
      }
    },
    async running(app, host) {
      const dir = dirOf(app);
      if (dir === null) return null;
      const text = await readFile(join(dir, 'hosts', hostFile(host)), 'utf8').catch(() => '');
      const match = RUNNING.exec(text.trim());
      return match ? { release: match[1]!, sha256: match[2]! } : null;
    },
    async setRunning(app, host, release) {
      const dir = dirOf(app);
      if (dir === null) return;
      const file = join(dir, 'hosts', hostFile(host));
      try {
        if (release === null || !SAFE.test(release.release) || !/^[0-9a-f]{64}$/.test(release.sha256)) return await rm(file, { force: true });
        await mkdir(join(dir, 'hosts'), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, `${release.release} ${release.sha256}\n`);
        await rename(tmp, file);
      } catch {
        // Unwritten, the next deploy to this host stages after its lock, as without a guess.
      }
    },
    async put(app, release, text) {
      const dir = dirOf(app);
      if (dir === null || !SAFE.test(release)) return;
      try {
        await mkdir(dir, { recursive: true });
        const file = join(dir, `${release}.${sha256Hex(text)}.tsv`);
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, text);
        await rename(tmp, file);
        for (const old of (await list(app)).slice(KEEP)) await rm(join(dir, old.name), { force: true });
      } catch {
        // A cache that cannot be written is a cache miss next time, nothing more.
      }
    },
  };
}

/** In memory, for tests and for runs that must not write to the user's cache. */
export function memoryManifestCache(): ManifestCache & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  const hosts = new Map<string, KnownRelease>();
  let order = 0;
  const stamps = new Map<string, number>();
  return {
    entries,
    async known(app, limit = KNOWN) {
      return [...entries.keys()]
        .filter((key) => key.startsWith(`${app}/`))
        .sort((a, b) => stamps.get(b)! - stamps.get(a)!)
        .slice(0, limit)
        .map((key) => {
          const [release, sha256] = key.slice(app.length + 1).split(' ');
          return { release: release!, sha256: sha256! };
        });
    },
    async read(app, release, sha256) {
      const text = entries.get(`${app}/${release} ${sha256}`);
      return text !== undefined && sha256Hex(text) === sha256 ? text : null;
    },
    async find(app, release) {
      return (await this.known(app, Infinity)).find((e) => e.release === release)?.sha256 ?? null;
    },
    async retain(app, releases) {
      for (const key of entries.keys()) {
        if (key.startsWith(`${app}/`) && releases.includes(key.slice(app.length + 1).split(' ')[0]!)) stamps.set(key, order++);
      }
    },
    async running(app, host) {
      return hosts.get(`${app} ${host}`) ?? null;
    },
    async setRunning(app, host, release) {
      if (release === null) hosts.delete(`${app} ${host}`);
      else hosts.set(`${app} ${host}`, release);
    },
    async put(app, release, text) {
      const key = `${app}/${release} ${sha256Hex(text)}`;
      entries.set(key, text);
      stamps.set(key, order++);
      const kept = [...entries.keys()].filter((k) => k.startsWith(`${app}/`)).sort((a, b) => stamps.get(b)! - stamps.get(a)!);
      for (const old of kept.slice(KEEP)) entries.delete(old);
    },
  };
}
