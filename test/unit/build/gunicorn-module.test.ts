// The gunicorn app module must ship: checked on the built artifact before any host is touched (exit 2), and
// only when the module is surely missing.
import { checkGunicornModule } from '../../../src/build/gunicorn-module.js';
import type { ResolvedConfig } from '../../../src/config/types.js';
import { ShipitError } from '../../../src/lib/errors.js';

type Server = Partial<ResolvedConfig['server']>;
const PYTHON = { requirements: 'requirements.txt', wheelhouse: undefined, systemSitePackages: false, interpreter: 'python3' } as unknown as ResolvedConfig['server']['python'];

/** Runs the check on `files` (path → text); returns the error, or null when it passed. */
function check(module: string, files: Record<string, string>, server: Server = {}): ShipitError | null {
  const config = { server: { preset: 'gunicorn', module, env: {}, ...server } } as unknown as ResolvedConfig;
  try {
    checkGunicornModule(config, new Set(Object.keys(files)), '/p/dist', (path) => {
      if (!(path in files)) throw new Error(`read ${path}: not shipped`);
      return files[path]!;
    });
    return null;
  } catch (error) {
    return error as ShipitError;
  }
}

const APP = { 'app/__init__.py': '', 'app/main.py': 'app = None\n', 'app/routes/__init__.py': '' };

describe('checkGunicornModule', () => {
  it('passes a module that ships: a file, a package, a namespace package, an extension module, a sourceless .pyc', () => {
    expect(check('app.main:app', APP)).toBeNull();
    expect(check('app.routes:app', APP)).toBeNull();
    expect(check('app:create_app()', APP)).toBeNull();
    expect(check('svc.api:app', { 'svc/api.py': '' })).toBeNull(); // svc/ has no __init__.py
    expect(check('app.fast:app', { ...APP, 'app/fast.cpython-311-x86_64-linux-gnu.so': '' })).toBeNull();
    expect(check('wsgi:app', { 'wsgi.pyc': '' })).toBeNull();
  });

  it('a misspelt submodule: exit 2 naming the field, the module, the files looked for, and the close name', () => {
    const error = check('app.mian:app', APP)!;
    expect(error).toBeInstanceOf(ShipitError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('server.module: "app.mian:app": module app.mian is not in build.dir (/p/dist): looked for app/mian.py, app/mian/');
    expect(error.hint).toBe('did you mean "app.main:app"?');
  });

  it('a misspelt top-level package, with no dependency set: missing, with a suggestion', () => {
    const error = check('ap.main:app', APP)!;
    expect(error.message).toBe('server.module: "ap.main:app": module ap is not in build.dir (/p/dist): looked for ap.py, ap/');
    expect(error.hint).toBe('did you mean "app.main:app"?');
  });

  it('no close name: no suggestion, how to name the app instead', () => {
    expect(check('app.xyz:app', APP)!.hint).toMatch(/^name the app as "package\.module:app"/);
  });

  it('a submodule of a plain module (app.py) cannot be imported: missing', () => {
    expect(check('app.main:app', { 'app.py': '' })!.message).toMatch(/module app\.main is not in build\.dir .*: looked for app\/main\.py, app\/main\/$/);
  });

  it('with a dependency set, a name the release lacks may be installed from it: not called missing', () => {
    // A wheel of the app itself in the wheelhouse, or a requirement that installs the package.
    expect(check('myapp.main:app', { 'gunicorn.conf.py': '', 'static/x.css': '' }, { python: PYTHON })).toBeNull();
    // A namespace package may have a portion in the virtualenv.
    expect(check('svc.other:app', { 'svc/api.py': '' }, { python: PYTHON })).toBeNull();
    // A regular package of the release shadows the virtualenv's: its missing submodule is missing.
    expect(check('app.mian:app', APP, { python: PYTHON })!.message).toMatch(/module app\.mian is not in build\.dir/);
  });

  it("a package whose __init__.py extends __path__ (pkgutil, pkg_resources) may find it elsewhere: not called missing", () => {
    expect(check('app.mian:app', { ...APP, 'app/__init__.py': '__path__ = __import__("pkgutil").extend_path(__path__, __name__)\n' })).toBeNull();
  });

  it("follows gunicorn's chdir and pythonpath when the app's gunicorn.conf.py sets them to literals", () => {
    const src = { 'src/app/__init__.py': '', 'src/app/main.py': '' };
    expect(check('app.main:app', { ...src, 'gunicorn.conf.py': 'chdir = "src"\n' })).toBeNull();
    expect(check('app.main:app', { ...src, 'gunicorn.conf.py': "workers = 2\npythonpath = 'lib,src'  # both\n" })).toBeNull();
    expect(check('app.mian:app', { ...src, 'gunicorn.conf.py': 'chdir = "src"\n' })!.message).toMatch(/looked for src\/app\/mian\.py, src\/app\/mian\/$/);
    // Without them, src/app is not importable as app.
    expect(check('app.main:app', src)!.message).toMatch(/module app is not in build\.dir/);
  });

  it('says nothing when where Python looks cannot be known: chdir or pythonpath computed, outside the release, PYTHONPATH in the env', () => {
    const gone = { 'x.py': '' };
    expect(check('app.main:app', { ...gone, 'gunicorn.conf.py': 'import os\nchdir = os.path.join(os.getcwd(), "src")\n' })).toBeNull();
    expect(check('app.main:app', { ...gone, 'gunicorn.conf.py': 'pythonpath = "/opt/lib"\n' })).toBeNull();
    expect(check('app.main:app', { ...gone, 'gunicorn.conf.py': 'pythonpath = "../shared"\n' })).toBeNull();
    expect(check('app.main:app', gone, { env: { PYTHONPATH: '/opt/lib' } })).toBeNull();
    expect(check('app.main:app', gone, { env: { GUNICORN_CMD_ARGS: '--chdir src' } })).toBeNull();
  });
});
