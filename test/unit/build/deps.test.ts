import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPathError } from '../../../src/build/config-path.js';
import { depsExcludes } from '../../../src/build/deps.js';
import { LOCAL_TARGET, listPackages, nodeDepsKey, nodeDepsSpec, npmFailureTail } from '../../../src/build/node-deps.js';
import { presetImports, pythonDepsSpec } from '../../../src/build/python-deps.js';
import { testConfig } from '../../support/config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipit-deps-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (path: string, content: string) => {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), content);
};

describe('python dependency set key', () => {
  const gunicorn = { preset: 'gunicorn' as const, workerClass: 'uvicorn.workers.UvicornWorker' };
  const config = (over = {}) => ({ requirements: join(dir, 'requirements.txt'), wheelhouse: join(dir, 'wheels'), systemSitePackages: false, interpreter: 'python3', ...over });

  beforeEach(() => {
    write('requirements.txt', 'greet==1.0\n');
    write('wheels/greet-1.0-py3-none-any.whl', 'wheel 1');
  });

  it('is the same for the same inputs, and lists what ships', async () => {
    const a = await pythonDepsSpec(config(), gunicorn);
    const b = await pythonDepsSpec(config(), gunicorn);
    expect(a.key).toMatch(/^[0-9a-f]{64}$/);
    expect(b.key).toBe(a.key);
    expect(a.files.map((f) => f.path)).toEqual(['requirements.txt', 'wheels/greet-1.0-py3-none-any.whl']);
    expect(a.offline).toBe(true);
  });

  it('changes with the requirements, any wheel, the interpreter or the system site packages', async () => {
    const base = (await pythonDepsSpec(config(), gunicorn)).key;
    const keys = new Set([base]);
    keys.add((await pythonDepsSpec(config({ interpreter: 'python3.12' }), gunicorn)).key);
    keys.add((await pythonDepsSpec(config({ systemSitePackages: true }), gunicorn)).key);
    keys.add((await pythonDepsSpec(config({ wheelhouse: undefined }), gunicorn)).key);
    write('wheels/greet-1.0-py3-none-any.whl', 'wheel 1, rebuilt');
    keys.add((await pythonDepsSpec(config(), gunicorn)).key);
    write('requirements.txt', 'greet==1.0\nother==2\n');
    keys.add((await pythonDepsSpec(config(), gunicorn)).key);
    expect(keys.size).toBe(6);
  });

  it('refuses requirements that pull in local files, which would not be on the hosts', async () => {
    write('requirements.txt', 'greet==1.0\n-r base.txt\n');
    await expect(pythonDepsSpec(config(), gunicorn)).rejects.toThrow(`server.python.requirements: ${dir}/requirements.txt: "-r base.txt" refers to a local file, which is not shipped to the hosts`);
    write('requirements.txt', '-e .\n');
    await expect(pythonDepsSpec(config(), gunicorn)).rejects.toThrow(/"-e \." refers to a local file/);
  });

  it('a missing requirements file or wheelhouse is a config error (exit 2) naming the field and the path, like a missing server.module', async () => {
    await expect(pythonDepsSpec(config({ requirements: join(dir, 'nope.txt') }), gunicorn)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      exitCode: 2,
      message: `server.python.requirements: ${dir}/nope.txt does not exist (expected a pip requirements file)`,
      hint: expect.stringMatching(/relative to the config file; `pip freeze > requirements.txt` makes one/),
    });
    await expect(pythonDepsSpec(config({ requirements: dir }), gunicorn)).rejects.toMatchObject({ exitCode: 2, message: `server.python.requirements: ${dir} is a directory (expected a pip requirements file)` });
    await expect(pythonDepsSpec(config({ wheelhouse: join(dir, 'nowheels') }), gunicorn)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      exitCode: 2,
      message: `server.python.wheelhouse: ${dir}/nowheels does not exist (expected a directory of wheels)`,
      hint: expect.stringMatching(/^make it with `pip wheel/),
    });
    await expect(pythonDepsSpec(config({ wheelhouse: join(dir, 'requirements.txt') }), gunicorn)).rejects.toMatchObject({
      exitCode: 2,
      message: `server.python.wheelhouse: ${dir}/requirements.txt is not a directory (expected a directory of wheels)`,
    });
  });

  it('the gunicorn preset needs gunicorn and the worker class, by name, from the virtualenv', () => {
    expect(presetImports(gunicorn).map(({ module, name }) => [module, name])).toEqual([
      ['gunicorn', undefined],
      ['uvicorn.workers', 'UvicornWorker'],
    ]);
    expect(presetImports({ preset: 'gunicorn', workerClass: 'sync' }).map((i) => i.module)).toEqual(['gunicorn']);
    expect(presetImports({ preset: 'command', workerClass: 'sync' })).toEqual([]);
  });

  it('the hint for a missing import does not suggest systemSitePackages when it is already on', () => {
    expect(presetImports(gunicorn, false)[0]!.hint).toContain('set server.python.systemSitePackages: true');
    expect(presetImports(gunicorn, true)[0]!.hint).not.toContain('systemSitePackages');
    expect(presetImports(gunicorn, true)[0]!.hint).toContain('install it on the hosts');
  });

  it('a different worker class in the same module is a different set (its check ran for the old name only)', async () => {
    const a = await pythonDepsSpec(config(), gunicorn);
    const b = await pythonDepsSpec(config(), { ...gunicorn, workerClass: 'uvicorn.workers.UvicornH11Worker' });
    expect(a.key).not.toBe(b.key);
  });
});

describe('node dependency set key', () => {
  const lock = (rootVersion: string, greet: string) => ({
    name: 'app',
    version: rootVersion,
    lockfileVersion: 3,
    packages: {
      '': { name: 'app', version: rootVersion, dependencies: { greet: `^${greet}` }, devDependencies: { jest: '^30' } },
      'node_modules/greet': { version: greet, resolved: `https://registry.example/greet-${greet}.tgz`, integrity: `sha512-${greet}` },
      'node_modules/jest': { version: '30.0.0', dev: true },
    },
  });

  it('ignores the app\'s own name and version: a version bump reuses the set', () => {
    expect(nodeDepsKey({ ...lock('1.0.1', '1.0.0'), name: 'renamed' } as never)).toBe(nodeDepsKey(lock('1.0.0', '1.0.0')));
  });

  it('changes when a dependency changes', () => {
    expect(nodeDepsKey(lock('1.0.0', '1.0.1'))).not.toBe(nodeDepsKey(lock('1.0.0', '1.0.0')));
  });

  /**
   * The trial: package.json edited to zod 3.24.0, the lock still at 3.25.76. The set was reused on every host that
   * had it and the deploy shipped 3.25.76, while npm ci (on a new host's first deploy) refuses that pair.
   */
  it('package.json lists that differ from the lock file\'s record make another set (npm ci then decides)', () => {
    const manifest = (greet: string, jest = '^30') => ({ name: 'app', version: '9.9.9', dependencies: { greet }, devDependencies: { jest } });
    expect(nodeDepsKey(lock('1.0.0', '1.0.0'), manifest('^1.0.0'))).toBe(nodeDepsKey(lock('1.0.0', '1.0.0')));
    expect(nodeDepsKey(lock('1.0.0', '1.0.0'), { ...manifest('^1.0.0'), optionalDependencies: {} })).toBe(nodeDepsKey(lock('1.0.0', '1.0.0')));
    expect(nodeDepsKey(lock('1.0.0', '1.0.0'), manifest('1.2.0'))).not.toBe(nodeDepsKey(lock('1.0.0', '1.0.0')));
    expect(nodeDepsKey(lock('1.0.0', '1.0.0'), manifest('^1.0.0', '^29'))).not.toBe(nodeDepsKey(lock('1.0.0', '1.0.0')));
  });
});

describe('npm\'s failure, as a deploy shows it', () => {
  it('says why npm ci refused the lock file, not the last lines of its help text', () => {
    // npm 11's real output for package.json at zod 3.24.0 and the lock file at 3.25.76 (the trial).
    const output = readFileSync(join(import.meta.dirname, 'fixtures/npm-ci-eusage.txt'), 'utf8');
    expect(npmFailureTail(output)).toBe(
      [
        'npm error code EUSAGE',
        'npm error `npm ci` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync. Please update your lock file with `npm install` before continuing.',
        "npm error Invalid: lock file's zod@3.25.76 does not satisfy zod@3.24.0",
        'npm error Clean install a project',
      ].join('\n'),
    );
  });

  it('keeps the last 12 lines of other failures', () => {
    const output = Array.from({ length: 20 }, (_, i) => `npm error line ${i}`).join('\n');
    expect(npmFailureTail(output).split('\n')).toEqual(Array.from({ length: 12 }, (_, i) => `npm error line ${i + 8}`));
  });
});

describe('listPackages', () => {
  it('finds nested and scoped packages and what makes them platform-specific', async () => {
    write('node_modules/plain/package.json', '{"name":"plain"}');
    write('node_modules/addon/package.json', '{"name":"addon","gypfile":true}');
    write('node_modules/addon/binding.gyp', '{}');
    write('node_modules/@scope/prebuilt/package.json', '{"name":"@scope/prebuilt"}');
    write('node_modules/@scope/prebuilt/prebuilds/linux-x64/node.napi.node', 'ELF');
    write('node_modules/plain/node_modules/inner/package.json', '{"name":"inner","os":["linux"]}');
    write('node_modules/.bin/x', '');
    expect(await listPackages(join(dir, 'node_modules'))).toEqual([
      { name: '@scope/prebuilt', native: false, hasBinary: true, platformSpecific: false },
      { name: 'addon', native: true, hasBinary: false, platformSpecific: false },
      { name: 'inner', native: false, hasBinary: false, platformSpecific: true },
      { name: 'plain', native: false, hasBinary: false, platformSpecific: false },
    ]);
  });
});

describe('depsExcludes', () => {
  it('leaves out node_modules with server.npm, and a wheelhouse kept inside build.dir', () => {
    const base = testConfig();
    const python = { requirements: '/work/app/requirements.txt', systemSitePackages: false, interpreter: 'python3' };
    expect(depsExcludes(base)).toEqual([]);
    expect(depsExcludes({ ...base, server: { ...base.server, preset: 'node', npm: { lockfile: '/work/app/package-lock.json' } } })).toEqual(['node_modules']);
    expect(depsExcludes({ ...base, server: { ...base.server, python: { ...python, wheelhouse: '/work/app/dist/vendor/wheels' } } })).toEqual(['vendor/wheels']);
    expect(depsExcludes({ ...base, server: { ...base.server, python: { ...python, wheelhouse: '/work/app/wheels' } } })).toEqual([]);
  });
});

describe('node dependency set inputs', () => {
  it('a project without a lock file (server.npm from shipit init, npm install never run) is told to write one or drop server.npm', async () => {
    write('package.json', '{"name":"app"}');
    await expect(nodeDepsSpec({ lockfile: join(dir, 'package-lock.json') })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      exitCode: 2,
      message: `server.npm.lockfile: ${dir}/package-lock.json does not exist (expected package-lock.json, which \`npm install\` writes)`,
      hint: expect.stringMatching(/^run `npm install` to write it .*or remove server\.npm if the app has no dependencies/),
    });
  });

  it('a lock file without its package.json, or a server.npm.nodedir that is not there, is a config error too', async () => {
    const lock = JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, packages: { '': { name: 'app', version: '1.0.0' } } });
    write('sub/package-lock.json', lock);
    await expect(nodeDepsSpec({ lockfile: join(dir, 'sub/package-lock.json') })).rejects.toMatchObject({
      exitCode: 2,
      message: `server.npm.lockfile: ${dir}/sub/package.json does not exist (expected package.json beside the lock file)`,
    });
    write('package.json', '{"name":"app","version":"1.0.0"}');
    write('package-lock.json', lock);
    // Refused before any set is built, though only a native addon would read the headers.
    await expect(nodeDepsSpec({ lockfile: join(dir, 'package-lock.json'), nodedir: join(dir, 'node-headers') })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      exitCode: 2,
      message: `server.npm.nodedir: ${dir}/node-headers does not exist (expected the hosts' Node headers, a directory holding include/node/)`,
      hint: expect.stringMatching(/^point it at a directory holding include\/node\//),
    });
  });

  it("a file that is there but cannot be read is the deployer's problem, not the config's: still a build failure (exit 1)", () => {
    const denied = Object.assign(new Error('permission denied'), { code: 'EACCES' });
    expect(configPathError('server.npm.lockfile', '/app/package-lock.json', 'the lock file', 'hint', denied)).toMatchObject({
      code: 'BUILD_FAILED',
      exitCode: 1,
      message: 'server.npm.lockfile: cannot read the lock file at /app/package-lock.json: EACCES',
    });
  });

  it('a lock file without dependencies (a new project) builds an empty set: npm ci makes no node_modules', async () => {
    write('package.json', '{"name":"app","version":"1.0.0"}');
    write('package-lock.json', JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'app', version: '1.0.0' } } }));
    const spec = await nodeDepsSpec({ lockfile: join(dir, 'package-lock.json') });
    const built = await spec.build(LOCAL_TARGET);
    expect(built.files).toBe(0);
    const chunks: Buffer[] = [];
    for await (const chunk of built.openTar()) chunks.push(chunk as Buffer);
    expect(execFileSync('tar', ['-tzf', '-'], { input: Buffer.concat(chunks) }).toString().trim()).toBe('node_modules/');
  }, 60_000);
});
