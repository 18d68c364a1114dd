import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { NpmDepsConfig } from '../config/types.js';
import type { NodeDepsSpec, NodeTarget } from '../host/deps-types.js';
import { ShipitError } from '../lib/errors.js';
import { checkConfigDir, configPathError, readConfigFile } from './config-path.js';

/** Bump when what a set holds changes for the same inputs: every host then builds new sets. */
const FORMAT = 'shipit-node-deps-v1';

/**
 * execa, loaded only when a dependency set is built: imported statically, the bundled CLI initialised its ~100
 * modules at the start of every deploy, also of apps that never use `server.npm`.
 */
const loadExeca = async () => (await import('execa')).execa;

/** This machine, in the form hosts report theirs (`node -p` on the host, src/remote/deps-scripts.ts). */
export const LOCAL_TARGET: NodeTarget = { abi: process.versions.modules, platform: `${process.platform}-${process.arch}` };

interface LockPackage {
  resolved?: string;
  link?: boolean;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  [key: string]: unknown;
}

interface Lockfile {
  lockfileVersion?: number;
  packages?: Record<string, LockPackage>;
}

/**
 * The deployer's half of a Node dependency set: the lock file's packages (what `npm ci` installs) and the root's
 * dependency lists, NOT the app's own name and version, so bumping the version in package.json reuses the set.
 * The host adds its Node ABI and platform. `build(target)` runs `npm ci --omit=dev` here, at most once per
 * target per deploy, and only when some host lacks the set.
 *
 * What runs on the hosts, precisely:
 * - pure JavaScript packages: always (they do not depend on the ABI);
 * - native addons (binding.gyp) are compiled here with `npm rebuild`: against this Node when its ABI and platform
 *   equal the hosts' (the same Node major version on Linux x64, say), or against the hosts' Node headers given as
 *   server.npm.nodedir (same platform, any Node here); otherwise the set is refused naming them;
 * - prebuilt binaries a package ships (prebuilds/, N-API) go as they are;
 * and every `.node` file of a set is loaded on each host, by the host's node, before any release links to it (of
 * prebuilds/<platform>-<arch>/ directories, as node-gyp-build uses them: the host's only, one file of it; see
 * nodeInstallScript).
 * Building on the hosts themselves (npm and a compiler there, from a shipped offline cache) is not supported.
 */
export async function nodeDepsSpec(npm: NpmDepsConfig): Promise<NodeDepsSpec> {
  const dir = dirname(npm.lockfile);
  // `shipit init --preset node` sets server.npm, so a project that never ran `npm install` lands here first.
  const lockText = await readConfigFile('server.npm.lockfile', npm.lockfile, 'package-lock.json, which `npm install` writes', 'run `npm install` to write it (shipit builds the hosts\' node_modules from it), or remove server.npm if the app has no dependencies; the path is relative to the config file');
  // npm ci needs the package.json the lock file was made from: the field that leads here is the lock file's.
  const manifestText = await readConfigFile('server.npm.lockfile', join(dir, 'package.json'), 'package.json beside the lock file', 'keep package.json in the lock file\'s directory; the path is relative to the config file');
  // Checked now, before any host is touched: the headers are read only when a native addon needs them.
  if (npm.nodedir !== undefined) {
    await checkConfigDir('server.npm.nodedir', npm.nodedir, "the hosts' Node headers, a directory holding include/node/", NODEDIR_HINT);
  }
  let lock: Lockfile;
  try {
    lock = JSON.parse(lockText.toString()) as Lockfile;
  } catch (error) {
    throw new ShipitError('BUILD_FAILED', `server.npm.lockfile: ${npm.lockfile} is not JSON: ${(error as Error).message}`);
  }
  if (!lock.packages || (lock.lockfileVersion ?? 1) < 2) {
    throw new ShipitError('BUILD_FAILED', `server.npm.lockfile: ${npm.lockfile} is lockfileVersion ${lock.lockfileVersion ?? 1}; shipit needs version 2 or 3`, {
      hint: 'regenerate it with npm 7 or newer: npm install --package-lock-only',
    });
  }
  let manifest: Record<string, unknown> | undefined;
  try {
    manifest = JSON.parse(manifestText.toString()) as Record<string, unknown>;
  } catch {
    manifest = undefined; // npm ci names what is wrong with it, when the set is built
  }
  const key = nodeDepsKey(lock, manifest);
  const builds = new Map<string, Promise<BuiltSet>>();
  return {
    kind: 'node',
    key,
    build(target) {
      const id = `${target.abi} ${target.platform}`;
      if (!builds.has(id)) builds.set(id, buildNodeModules(npm, lock, target));
      return builds.get(id)!.then((built) => ({ openTar: () => createReadStream(built.tarball), files: built.files, bytes: built.bytes }));
    },
  };
}

/** The dependency lists npm ci compares between package.json and the lock file's root entry. */
const DEPENDENCY_LISTS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'devDependencies'];

/**
 * sha256 over what `npm ci --omit=dev` installs: every package entry, and the root's dependency lists only.
 *
 * `manifest` is package.json. When its dependency lists differ from those the lock file recorded (edited
 * without `npm install`), they are hashed in too, so such a project never reuses a set: the set is built, and
 * npm ci either accepts the lock file (package.json's ranges still match it) or refuses it with its own
 * message. Without this a host that had the set accepted a package.json that npm ci refuses, and a new host
 * failed the same deploy.
 */
export function nodeDepsKey(lock: Lockfile, manifest?: Record<string, unknown>): string {
  const packages = lock.packages ?? {};
  const root = packages[''] ?? {};
  const pick = (name: string) => (root[name] === undefined ? [] : [[name, root[name]]]);
  const rootDeps = Object.fromEntries(['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies'].flatMap(pick));
  const entries = Object.keys(packages)
    .filter((k) => k !== '')
    .sort()
    .map((k) => [k, packages[k]]);
  const parts: unknown[] = [FORMAT, rootDeps, entries];
  if (manifest !== undefined && !sameDependencyLists(manifest, root)) parts.push(['package.json', DEPENDENCY_LISTS.map((list) => manifest[list] ?? null)]);
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

function sameDependencyLists(manifest: Record<string, unknown>, root: Record<string, unknown>): boolean {
  // npm leaves an empty list out of the lock file: {} and no list are the same.
  const normal = (list: unknown) => JSON.stringify(Object.entries((list ?? {}) as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return DEPENDENCY_LISTS.every((list) => normal(manifest[list]) === normal(root[list]));
}

interface BuiltSet {
  tarball: string;
  files: number;
  bytes: number;
}

async function buildNodeModules(config: NpmDepsConfig, lock: Lockfile, target: NodeTarget): Promise<BuiltSet> {
  const { lockfile } = config;
  const projectDir = dirname(lockfile);
  const work = mkdtempSync(join(tmpdir(), 'shipit-node-deps-'));
  process.once('exit', () => rmSync(work, { recursive: true, force: true }));
  // npm ci in a scratch directory: the project's own node_modules (with devDependencies) stays untouched.
  await copyFile(join(projectDir, 'package.json'), join(work, 'package.json'));
  await copyFile(lockfile, join(work, 'package-lock.json'));
  await copyLocalTarballs(projectDir, work, lock);
  await npm(work, ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline']);
  // A lock file without production dependencies (a new project, `shipit init --preset node`): npm ci creates
  // no node_modules, and the set is an empty one, which the release links like any other.
  await mkdir(join(work, 'node_modules'), { recursive: true });
  const packages = await listPackages(join(work, 'node_modules'));
  const native = packages.filter((p) => p.native && !p.hasBinary);
  const sameTarget = target.abi === LOCAL_TARGET.abi && target.platform === LOCAL_TARGET.platform;
  if (target.platform !== LOCAL_TARGET.platform) {
    const specific = packages.filter((p) => p.native || p.hasBinary || p.platformSpecific);
    if (specific.length > 0) {
      throw new ShipitError('BUILD_FAILED', `${specific.map((p) => p.name).join(', ')}: platform-specific, and this machine is ${LOCAL_TARGET.platform} while the hosts are ${target.platform}`, {
        hint: 'deploy from a machine of the hosts\' platform (e.g. a Linux CI runner)',
      });
    }
  }
  if (native.length > 0) {
    const names = native.map((p) => p.name).join(', ');
    if (sameTarget) {
      await npm(work, ['rebuild', '--foreground-scripts', ...native.map((p) => p.name)]);
    } else if (config.nodedir !== undefined && target.platform === LOCAL_TARGET.platform) {
      // node-gyp compiles against the hosts' headers instead of this Node's: the result loads there (checked).
      const headers = await nodeHeaders(config.nodedir);
      if (headers.abi !== target.abi) {
        throw new ShipitError('BUILD_FAILED', `server.npm.nodedir: ${config.nodedir} holds the headers of Node ${headers.version} (ABI ${headers.abi}), the hosts run ABI ${target.abi}${target.version ? ` (Node ${target.version})` : ''}`);
      }
      await npm(work, ['rebuild', '--foreground-scripts', ...native.map((p) => p.name)], { npm_config_nodedir: config.nodedir, npm_config_target: headers.version });
    } else {
      throw new ShipitError(
        'BUILD_FAILED',
        `${names}: native addon(s) (binding.gyp) must be compiled for the hosts' Node ABI ${target.abi} (${target.platform}), and this machine runs ABI ${LOCAL_TARGET.abi} (Node ${process.versions.node})`,
        {
          hint: `set server.npm.nodedir to the headers of the hosts' Node${target.version ? ` ${target.version}` : ''} to compile them here, deploy from a machine with the hosts' Node major version, or use packages that ship prebuilt N-API binaries`,
        },
      );
    }
  }
  const tarball = join(work, 'set.tar.gz');
  const execa = await loadExeca();
  await execa('tar', ['-C', work, '--owner=0', '--group=0', '--numeric-owner', '-czf', tarball, 'node_modules']);
  return { tarball, files: packages.length, bytes: (await stat(tarball)).size };
}

async function npm(cwd: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  const execa = await loadExeca();
  const result = await execa('npm', args, { cwd, reject: false, all: true, env: { npm_config_update_notifier: 'false', ...env } });
  if (result.exitCode !== 0) {
    const tail = npmFailureTail(String(result.all ?? ''));
    throw new ShipitError('BUILD_FAILED', `npm ${args.join(' ')} failed (exit ${result.exitCode}):\n${tail}`, {
      hint: 'run `npm ci --omit=dev` in the project to see the whole output; package.json and package-lock.json must agree',
    });
  }
}

/**
 * The lines of npm's failed output that say why. A usage error (EUSAGE: npm ci refusing a package.json and lock
 * file that disagree) ends in ~40 lines of npm's help text, which the last 12 lines were all of: the reason
 * ("Invalid: lock file's zod@3.25.76 does not satisfy zod@3.24.0") came before them. The help is left out, and
 * so are npm's empty `npm error` lines.
 */
export function npmFailureTail(output: string): string {
  const lines = output.trim().split('\n');
  const usage = lines.findIndex((line) => /^npm (error|ERR!) Usage:\s*$/.test(line));
  const said = (usage > 0 ? lines.slice(0, usage) : lines).filter((line) => !/^npm (error|ERR!)\s*$/.test(line));
  return said.slice(-12).join('\n');
}

/**
 * `file:` tarballs in the lock are copied to the same relative place; `file:` directories (npm links them)
 * would point outside the set, and are refused.
 */
async function copyLocalTarballs(projectDir: string, work: string, lock: Lockfile): Promise<void> {
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (path === '' || entry.dev) continue;
    if (entry.link) {
      throw new ShipitError('BUILD_FAILED', `${path}: a linked local directory (${entry.resolved ?? 'file:'}) cannot ship as a dependency`, {
        hint: 'pack it (`npm pack`) and depend on the tarball: "dep": "file:vendor/dep-1.0.0.tgz"',
      });
    }
    if (!entry.resolved?.startsWith('file:')) continue;
    const from = resolve(projectDir, entry.resolved.slice(5));
    const rel = relative(projectDir, from);
    if (rel.startsWith('..') || rel.split(sep).includes('..')) {
      throw new ShipitError('BUILD_FAILED', `${path}: ${entry.resolved} is outside the project directory`, { hint: 'keep local tarballs beside package.json, e.g. in vendor/' });
    }
    await mkdir(dirname(join(work, rel)), { recursive: true });
    await copyFile(from, join(work, rel));
  }
}

interface InstalledPackage {
  name: string;
  /** binding.gyp or "gypfile": true: compiled at install time. */
  native: boolean;
  /** Ships .node files of its own (prebuilt, or already compiled). */
  hasBinary: boolean;
  /** Restricted with "os" or "cpu" in its package.json. */
  platformSpecific: boolean;
}

/** Every package under node_modules (nested and scoped too), with what makes it platform-specific. */
export async function listPackages(nodeModules: string): Promise<InstalledPackage[]> {
  const found: InstalledPackage[] = [];
  const visitModules = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      if (entry.name.startsWith('@')) {
        for (const scoped of await readdir(join(dir, entry.name), { withFileTypes: true })) {
          if (scoped.isDirectory()) await visitPackage(join(dir, entry.name, scoped.name), `${entry.name}/${scoped.name}`);
        }
      } else {
        await visitPackage(join(dir, entry.name), entry.name);
      }
    }
  };
  const visitPackage = async (dir: string, name: string): Promise<void> => {
    const manifest = await readFile(join(dir, 'package.json'), 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => null);
    if (manifest === null) return;
    const gyp = await stat(join(dir, 'binding.gyp')).then(() => true, () => false);
    found.push({
      name,
      native: gyp || manifest['gypfile'] === true,
      hasBinary: await containsAddon(dir),
      platformSpecific: manifest['os'] !== undefined || manifest['cpu'] !== undefined,
    });
    await visitModules(join(dir, 'node_modules'));
  };
  await visitModules(nodeModules);
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function containsAddon(dir: string): Promise<boolean> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.node')) return true;
    if (entry.isDirectory() && entry.name !== 'node_modules' && (await containsAddon(join(dir, entry.name)))) return true;
  }
  return false;
}


const NODEDIR_HINT = "point it at a directory holding include/node/ (e.g. Debian's libnode-dev, unpacked with dpkg-deb -x); the path is relative to the config file";

/** The Node version and ABI of a headers directory (include/node/node_version.h), as node-gyp --nodedir reads it. */
async function nodeHeaders(nodedir: string): Promise<{ version: string; abi: string }> {
  const file = join(nodedir, 'include/node/node_version.h');
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw configPathError('server.npm.nodedir', file, 'node_version.h of the hosts\' Node headers', NODEDIR_HINT, error);
  });
  const define = (name: string) => new RegExp(`^#define ${name} (\\d+)`, 'm').exec(text)?.[1];
  const [major, minor, patch, abi] = ['NODE_MAJOR_VERSION', 'NODE_MINOR_VERSION', 'NODE_PATCH_VERSION', 'NODE_MODULE_VERSION'].map(define);
  if (!major || !minor || !patch || !abi) throw new ShipitError('BUILD_FAILED', `server.npm.nodedir: ${file} does not say which Node version it is`);
  return { version: `${major}.${minor}.${patch}`, abi };
}
