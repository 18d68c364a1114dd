import { posix } from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { ShipitError } from '../lib/errors.js';
import { nearest } from '../lib/nearest.js';

/**
 * The gunicorn preset's app module (`server.module: 'app.main:app'`) must ship: a typo (`app.mian`) was otherwise
 * found only when the canary host started the release (reverted, exit 5). Checked in the built artifact before any
 * host is touched, exit 2. Python finds a module in more places than the artifact, so it fails only when it is
 * sure the module is missing, and says nothing otherwise:
 * - the search roots are the release (gunicorn runs in it and puts its cwd first on sys.path) plus gunicorn's
 *   `chdir` and `pythonpath` when the app's gunicorn.conf.py sets them to plain string literals; any other way of
 *   setting them (an expression, PYTHONPATH or GUNICORN_CMD_ARGS in server.env) leaves the places unknown: no check;
 * - a name is there as `name.py`, a package or namespace-package directory `name/`, an extension module
 *   (`name.so`, `name.cpython-311-x86_64-linux-gnu.so`, `.pyd`) or a sourceless `name.pyc`;
 * - a top-level name, or one inside a namespace package (a directory without __init__.py), may come from elsewhere:
 *   the dependency set (server.python: requirements, a wheel of the app itself) is not looked into, so with one
 *   such a name is never called missing; without one only the host's Debian packages are left, which an app's own
 *   module is not;
 * - a submodule of a regular package in the release is missing for sure (the release comes first on sys.path, so
 *   that package is the one imported), unless its __init__.py extends `__path__` (pkgutil, pkg_resources).
 */
export function checkGunicornModule(
  config: Pick<ResolvedConfig, 'server'>,
  shipped: ReadonlySet<string>,
  buildDir: string,
  readText: (path: string) => string,
): void {
  const spec = config.server.module;
  if (spec === undefined) return;
  const roots = searchRoots(config, shipped, readText);
  if (roots === null) return;
  const parts = spec.split(':')[0]!.split('.');
  const dirs = new Set(shippedDirs(shipped));
  const withoutDeps = config.server.python === undefined;
  // The directories the next name is looked for in, and whether a miss there is sure.
  let places = roots;
  let sure = withoutDeps;
  for (let i = 0; i < parts.length; i++) {
    const found = places.filter((dir) => moduleAt(dir, parts[i]!, shipped, dirs));
    if (found.length === 0) {
      if (!sure) return;
      throw missing(spec, parts, i, places, shipped, dirs, buildDir);
    }
    if (i === parts.length - 1) return;
    const packages = found.map((dir) => join(dir, parts[i]!)).filter((dir) => dirs.has(dir));
    // Only modules (app.py, app.so) where the next name needs a package: the release's shadows any other.
    if (packages.length === 0) throw missing(spec, parts, i + 1, found.map((dir) => join(dir, parts[i]!)), shipped, dirs, buildDir);
    const inits = packages.filter((dir) => shipped.has(join(dir, '__init__.py')));
    if (inits.some((dir) => /__path__|declare_namespace/.test(readText(join(dir, '__init__.py'))))) return;
    // A regular package of the release is the one imported; a namespace package may have portions elsewhere.
    sure = inits.length === packages.length || withoutDeps;
    places = packages;
  }
}

/** '.' and gunicorn's chdir and pythonpath from the app's gunicorn.conf.py, or null when they cannot be known. */
function searchRoots(config: Pick<ResolvedConfig, 'server'>, shipped: ReadonlySet<string>, readText: (path: string) => string): string[] | null {
  const env = config.server.env ?? {};
  if ('PYTHONPATH' in env || 'GUNICORN_CMD_ARGS' in env) return null;
  if (!shipped.has('gunicorn.conf.py')) return ['.'];
  const text = readText('gunicorn.conf.py');
  const chdir = literalSetting(text, 'chdir');
  const pythonpath = literalSetting(text, 'pythonpath');
  if (chdir === null || pythonpath === null) return null;
  const chdirs = chdir === undefined ? [] : [chdir];
  const paths = pythonpath === undefined ? [] : pythonpath.split(',');
  // A pythonpath entry is made absolute from the cwd, which chdir may have changed first: both are looked in.
  const roots = ['.', ...chdirs, ...paths, ...chdirs.flatMap((dir) => paths.map((path) => posix.join(dir, path.trim())))].map((dir) => posix.normalize(dir.trim()));
  if (roots.some((dir) => dir.startsWith('/') || dir === '..' || dir.startsWith('../'))) return null;
  return [...new Set(roots.map((dir) => dir.replace(/\/$/, '') || '.'))];
}

/** `name = "literal"` once at the top level: its value; not mentioned: undefined; set some other way: null. */
function literalSetting(text: string, name: string): string | null | undefined {
  const mentions = text.match(new RegExp(`\\b${name}\\b`, 'g'))?.length ?? 0;
  if (mentions === 0) return undefined;
  const literal = new RegExp(`^${name}\\s*=\\s*(["'])([^"'\\\\]*)\\1\\s*(#.*)?$`, 'm').exec(text);
  return literal !== null && mentions === 1 ? literal[2]! : null;
}

const join = (dir: string, name: string) => (dir === '.' ? name : `${dir}/${name}`);

function shippedDirs(shipped: ReadonlySet<string>): string[] {
  const dirs = new Set<string>(['.']);
  for (const path of shipped) for (let dir = posix.dirname(path); dir !== '.' && !dirs.has(dir); dir = posix.dirname(dir)) dirs.add(dir);
  return [...dirs];
}

/** `name` importable from `dir`: a source, sourceless or extension module, or a (namespace) package directory. */
function moduleAt(dir: string, name: string, shipped: ReadonlySet<string>, dirs: ReadonlySet<string>): boolean {
  const base = join(dir, name);
  if (dirs.has(base) || shipped.has(`${base}.py`) || shipped.has(`${base}.pyc`)) return true;
  // name.so, name.cpython-311-x86_64-linux-gnu.so, name.abi3.so, name.pyd
  return [...shipped].some((path) => posix.dirname(path) === dir && posix.basename(path).startsWith(`${name}.`) && /\.(so|pyd)$/.test(path));
}

function missing(spec: string, parts: string[], at: number, places: string[], shipped: ReadonlySet<string>, dirs: ReadonlySet<string>, buildDir: string): ShipitError {
  const name = parts[at]!;
  const module = parts.slice(0, at + 1).join('.');
  const lookedFor = places.flatMap((dir) => [`${join(dir, name)}.py`, `${join(dir, name)}/`]);
  const near = closest(name, places.flatMap((dir) => siblings(dir, shipped, dirs)));
  const suggestion = near === undefined ? undefined : [...parts.slice(0, at), near, ...parts.slice(at + 1)].join('.') + spec.slice(spec.indexOf(':'));
  return new ShipitError('CONFIG_INVALID', `server.module: ${JSON.stringify(spec)}: module ${module} is not in build.dir (${buildDir}): looked for ${lookedFor.join(', ')}`, {
    hint: suggestion !== undefined ? `did you mean ${JSON.stringify(suggestion)}?` : 'name the app as "package.module:app", the module relative to build.dir, or check that build.command writes it',
  });
}

/** The module names a directory holds: its .py files and subdirectories. */
function siblings(dir: string, shipped: ReadonlySet<string>, dirs: ReadonlySet<string>): string[] {
  const names = new Set<string>();
  for (const path of [...shipped, ...dirs]) {
    if (path === '.' || posix.dirname(path) !== dir) continue;
    const base = posix.basename(path);
    if (dirs.has(path)) names.add(base);
    else if (base.endsWith('.py')) names.add(base.slice(0, -3));
  }
  names.delete('__init__');
  return [...names];
}

/** The name within 2 edits (a swap of neighbours counting as one) of `name`, nearest first; none for short names. */
function closest(name: string, candidates: string[]): string | undefined {
  return nearest(name, candidates, (length, other) => Math.min(2, Math.floor(Math.max(length, other) / 3)));
}
