import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, type BigIntStats, type Dirent } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { ManifestEntry } from '../host/types.js';
import { ShipitError } from '../lib/errors.js';
import { compileExcludes } from './exclude.js';
import type { HashCache } from './hash-cache.js';

/** Never shipped: VCS data and Python bytecode (the unit forbids writing it and hosts compile nothing). */
const EXCLUDED_DIRS = new Set(['.git', '__pycache__', '.pytest_cache', '.mypy_cache']);
const EXCLUDED_FILES = /\.py[co]$/;

/** Files read from one local directory. */
export interface ArtifactSource {
  dir: string;
  files: ManifestEntry[];
}

/**
 * Why a path of build.dir does not ship: `git` ignores it (git-ignored.ts), `build.exclude` matches it, or
 * `shipit` never ships it (.git, caches and bytecode, the config file, what a dependency set provides).
 */
export type LeftOutReason = 'git' | 'build.exclude' | 'shipit';

/** A path left out of the release; a directory (ending in `/`) stands for everything under it, never read. */
export interface LeftOut {
  path: string;
  reason: LeftOutReason;
}

/** What ships: the build dir, plus files shipit generates for the preset (under `.shipit/` in the release). */
export interface Artifact {
  sources: ArtifactSource[];
  files: ManifestEntry[];
  bytes: number;
  /** What of build.dir was left out and why, in walk order. */
  leftOut: LeftOut[];
}

/** Inside a release, this directory belongs to shipit (server shims, the Node runtime). */
export const SHIPIT_DIR = '.shipit';

/** Files hashed at once: enough to keep the disk and the thread pool busy; each holds one read buffer. */
const HASH_PARALLEL = 16;
const READ_BUFFER = 64 * 1024;
/** Files stat'ed between two turns of the event loop. */
const STAT_BATCH = 2_000;

/**
 * Walks the build dir and hashes every file: the manifest (path, mode, size, sha256) of what ships. `exclude`:
 * relative paths (files or whole directories) left out, e.g. node_modules when a dependency set replaces it.
 * `patterns`: build.exclude (exclude.ts), matched against every file and directory.
 * `gitIgnored`: paths git ignores (git-ignored.ts: files, and directories ending in `/`), left out unwalked.
 * `cache`: hashes of unchanged files from the previous scan (hash-cache.ts), opened before this scan.
 */
export async function scanArtifact(
  dir: string,
  options: { exclude?: readonly string[]; patterns?: readonly string[]; gitIgnored?: ReadonlySet<string>; cache?: HashCache } = {},
): Promise<Artifact> {
  const excluded = new Set(options.exclude ?? []);
  const matches = compileExcludes(options.patterns ?? []);
  const gitIgnored = options.gitIgnored ?? new Set<string>();
  const paths: string[] = [];
  const leftOut: LeftOut[] = [];
  // Synchronous: the directories' entries and the files' stats come from the kernel's caches in microseconds,
  // where a promise through the thread pool costs tens (2,000 files: ~280 ms, most of it waiting, while the
  // SSH handshakes compete for the same CPU). Only the hashing of files the cache does not know is asynchronous.
  const walk = (at: string, prefix: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch (error) {
      throw new ShipitError('BUILD_FAILED', `cannot read build.dir ${at}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
        hint: 'check `build.dir` in the config (relative to the config file) and that the build produced it',
      });
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const rel = prefix + entry.name;
      if (/[\t\n\r\\]/.test(rel)) {
        throw new ShipitError('BUILD_FAILED', `${JSON.stringify(rel)}: file names with tabs, newlines or backslashes cannot ship`);
      }
      const isDir = entry.isDirectory();
      const shown = isDir ? `${rel}/` : rel;
      if (excluded.has(rel) || (isDir ? EXCLUDED_DIRS.has(entry.name) : EXCLUDED_FILES.test(entry.name))) {
        leftOut.push({ path: shown, reason: 'shipit' });
      } else if (matches(rel, isDir)) {
        leftOut.push({ path: shown, reason: 'build.exclude' });
      } else if (gitIgnored.size > 0 && gitIgnored.has(shown)) {
        // Before the symlink check: an ignored local virtualenv is left out, not refused.
        leftOut.push({ path: shown, reason: 'git' });
      } else if (isDir) {
        walk(join(at, entry.name), shown);
      } else if (entry.isFile()) {
        paths.push(rel);
      } else if (entry.isSymbolicLink()) {
        throw new ShipitError('BUILD_FAILED', `${rel}: symbolic links in the artifact are not supported`, { hint: symlinkHint(rel) });
      }
    }
  };
  walk(dir, '');
  const { cache } = options;
  const files: ManifestEntry[] = [];
  const unknown: { index: number; full: string; info: BigIntStats }[] = [];
  for (const [index, path] of paths.entries()) {
    // A turn of the event loop now and then: a huge tree must not starve the connections opening meanwhile.
    if (index > 0 && index % STAT_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
    const full = join(dir, path);
    const info = lstatSync(full, { bigint: true });
    const sha256 = cache?.lookup(path, info);
    files.push({ path, mode: Number(info.mode & 0o777n), size: Number(info.size), sha256: sha256 ?? '' });
    if (sha256 === undefined) unknown.push({ index, full, info });
  }
  await mapLimit(unknown, HASH_PARALLEL, async ({ index, full, info }, buffer) => {
    const file = files[index]!;
    file.sha256 = await sha256File(full, buffer);
    cache?.record(file.path, info, file.sha256);
  });
  return { sources: [{ dir, files }], files, bytes: files.reduce((sum, f) => sum + f.size, 0), leftOut };
}

/** What to do about a symbolic link: most come from installed dependencies, which shipit installs on the hosts. */
function symlinkHint(rel: string): string {
  if (rel === 'node_modules' || rel.startsWith('node_modules/')) {
    return "dependencies are installed on the hosts, not shipped from here: set server.npm (e.g. { lockfile: 'package-lock.json' }) and node_modules is left out, or point build.dir at a directory without node_modules";
  }
  const venv = /^(\.?venv)\//.exec(rel)?.[1];
  if (venv !== undefined) {
    // build.dir is '.' in every config `shipit init` writes, so moving the virtualenv out of it is rarely the
    // way: say how to leave it out where it is.
    return `a virtualenv is built on the hosts, not shipped from here: set server.python (e.g. { requirements: 'requirements.txt' }) and leave ${venv}/ out of what ships with build.exclude: ['${venv}/']`;
  }
  return 'copy the target into the build dir instead';
}

/**
 * Adds files shipit generates (paths relative to the release, all under `.shipit/`) to an artifact. They are
 * written to a temporary directory so they ship, hash and diff exactly like the user's files.
 */
export async function withGeneratedFiles(artifact: Artifact, generated: Record<string, { content: string | Buffer; mode?: number }>): Promise<Artifact> {
  const names = Object.keys(generated);
  if (names.length === 0) return artifact;
  const clash = artifact.files.find((f) => f.path === SHIPIT_DIR || f.path.startsWith(`${SHIPIT_DIR}/`));
  if (clash) {
    throw new ShipitError('BUILD_FAILED', `${clash.path}: the build dir must not contain ${SHIPIT_DIR}/, shipit writes its own files there`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'shipit-generated-'));
  for (const name of names) {
    if (!name.startsWith(`${SHIPIT_DIR}/`)) throw new Error(`generated file ${name} must live under ${SHIPIT_DIR}/`);
    const { content, mode = 0o644 } = generated[name]!;
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content, { mode });
    await chmod(join(dir, name), mode);
  }
  const extra = await scanArtifact(dir);
  return {
    sources: [...artifact.sources, ...extra.sources],
    files: [...artifact.files, ...extra.files],
    bytes: artifact.bytes + extra.bytes,
    leftOut: artifact.leftOut,
  };
}

/**
 * One gzipped tar stream of `paths`, read from whichever source holds each: one `tar` per source, their gzip
 * members concatenated (the host extracts with --ignore-zeros, which reads past each archive's end).
 */
export function openArtifactTar(artifact: Artifact, paths: string[]): Readable {
  const wanted = new Set(paths);
  const parts = artifact.sources
    .map((source) => ({ dir: source.dir, paths: source.files.map((f) => f.path).filter((p) => wanted.has(p)) }))
    .filter((part) => part.paths.length > 0);
  const out = new PassThrough();
  const next = (i: number): void => {
    if (i >= parts.length) return void out.end();
    const tar = openTar(parts[i]!.dir, parts[i]!.paths);
    tar.on('error', (error) => out.destroy(error));
    tar.on('end', () => next(i + 1));
    tar.pipe(out, { end: false });
  };
  next(0);
  return out;
}

/**
 * Reads into the caller's buffer: a read stream allocates a fresh 64 KiB buffer per read, which for 2,000
 * small files is 250 MB of garbage and tens of MB of peak RSS before the collector catches up.
 */
async function sha256File(path: string, buffer: Buffer): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** `fn` over `items`, `limit` at a time; each of the `limit` workers hands its own read buffer to `fn`. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, buffer: Buffer) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    const buffer = Buffer.allocUnsafeSlow(READ_BUFFER);
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, buffer);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * A gzipped tar of `paths` under `dir`, streamed from the system tar (1.4–2.4× faster than the npm package,
 * REFERENCE.md). Owner and group are zeroed: on the host, files belong to root and the service group.
 */
export function openTar(dir: string, paths: string[]): Readable {
  const child = spawn('tar', ['-C', dir, '--null', '--no-recursion', '-T', '-', '--owner=0', '--group=0', '--numeric-owner', '-czf', '-'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(paths.map((p) => `${p}\0`).join(''));
  // Node discards a child's unread stdout when the child exits (child_process flushStdio), and a small tar
  // exits before the SSH channel that will read it is open: hand over a PassThrough that holds the bytes.
  const out = new PassThrough();
  child.stdout.pipe(out, { end: false });
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new ShipitError('BUILD_FAILED', `tar of the artifact failed (exit ${code}): ${stderr.trim()}`));
  });
  return out;
}
