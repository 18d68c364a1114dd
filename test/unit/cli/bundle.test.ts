// The CLI users run is dist/shipit.cjs, the bundle scripts/bundle.mjs makes of tsc's output (bin/shipit.js runs
// it). The other unit tests run the sources; these run the bundle itself, as a user would, on what depends on
// where its code sits: the package version, the config loader ('shipit' alias, jiti, cosmiconfig), the unit
// templates and the node runtime that ships with a release.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../src/lib/package-root.js';

const ROOT = packageRoot();
const BIN = join(ROOT, 'bin/shipit.js');
let dir: string;

function shipit(args: string[], bin = BIN, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', NO_COLOR: '1', SHIPIT_CACHE_DIR: join(dir, 'cache'), ...env },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function config(body: string): void {
  writeFileSync(join(dir, 'deploy.config.ts'), `import { defineConfig } from 'shipit';\nexport default defineConfig(${body});\n`);
}

/** A valid config of this preset (its server block), with one host. */
function configFor(server: string): void {
  config(`{ app: 'bundled', build: { dir: 'dist' }, server: ${server}, environments: { production: { hosts: [{ host: '10.0.0.1', user: 'deploy', name: 'web1' }] } } }`);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipit-bundle-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the bundled CLI (dist/shipit.cjs)', () => {
  it('is built, and packageRoot() finds the package from the sources', () => {
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).name).toBe('shipit');
    expect(existsSync(join(ROOT, 'dist/shipit.cjs'))).toBe(true);
  });

  it('prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = shipit(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it("loads a deploy.config.ts importing 'shipit' and renders both presets' units from the package's templates", () => {
    configFor(`{ preset: 'node', module: 'server.js', port: 8080 }`);
    const node = shipit(['units', 'production']);
    expect(node.stderr).toBe('');
    expect(node.status).toBe(0);
    expect(node.stdout).toContain('ListenStream=0.0.0.0:8080');
    expect(node.stdout).toContain('.shipit/runtime/main.js');
    configFor(`{ preset: 'gunicorn', module: 'app.main:app', port: 8081 }`);
    const gunicorn = shipit(['units', 'production']);
    expect(gunicorn.status).toBe(0);
    expect(gunicorn.stdout).toContain('exec gunicorn');
  });

  it('names the field of a config the schema refuses, with exit 2', () => {
    config(`{ app: 'Not A Name!', server: { preset: 'node', module: 'server.js', port: 8080 }, environments: { production: { hosts: [] } } }`);
    const r = shipit(['units', 'production']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('app');
    expect(r.stderr).toContain(join(dir, 'deploy.config.ts'));
  });

  describe('bin/shipit.js in a copy of the package with parts missing', () => {
    /** A copy of the package in the test's dir with only `parts`; `modules`: node_modules linked in. */
    function packageWith(parts: string[], modules: boolean): string {
      const copy = join(dir, 'pkg');
      for (const part of ['bin', 'package.json', 'units', ...parts]) cpSync(join(ROOT, part), join(copy, part), { recursive: true });
      if (modules) symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
      return join(copy, 'bin/shipit.js');
    }

    it('runs tsc\'s modules when the bundle is missing', () => {
      const r = shipit(['--version'], packageWith(['dist/src'], true));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('says "not built" only when shipit itself is not built', () => {
      const r = shipit(['--version'], packageWith([], true));
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe('shipit is not built: run `npm run build`');
    });

    it('names the missing dependency and `npm ci` when node_modules is incomplete, for the command that needs it', () => {
      const bin = packageWith(['dist'], false);
      // Nothing outside the bundle is needed to print the version or the help.
      expect(shipit(['--version'], bin).status).toBe(0);
      configFor(`{ preset: 'node', module: 'server.js', port: 8080 }`);
      const r = shipit(['deploy', 'production'], bin);
      expect(r.stderr).toContain("error: shipit's dependencies are incomplete (Cannot find module 'ssh2')");
      expect(r.stderr).toContain('hint: run `npm ci` in the shipit package, or reinstall it');
      expect(r.stderr).not.toMatch(/not built|unexpected error/);
      expect(r.status).toBe(1);
    });

    it('reports jiti missing as an incomplete installation, not as an invalid config', () => {
      const bin = packageWith(['dist'], false);
      const modules = join(dir, 'pkg', 'node_modules');
      mkdirSync(modules);
      for (const name of readdirSync(join(ROOT, 'node_modules'))) if (name !== 'jiti') symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
      configFor(`{ preset: 'node', module: 'server.js', port: 8080 }`);
      const r = shipit(['units', 'production'], bin);
      expect(r.stderr).toContain("error: shipit's dependencies are incomplete (Cannot find module 'jiti')");
      expect(r.stderr).not.toMatch(/deploy\.config\.ts|unexpected error/);
      expect(r.status).toBe(1);
    });
  });

  describe("V8's code cache of the bundle (bin/shipit.js)", () => {
    const cacheDir = () => join(dir, 'cache', 'compile');
    const cached = () => readdirSync(cacheDir()).sort();
    const LONG_AGO = new Date('2000-01-01T00:00:00Z');

    it('is written by the first run of each command and used, not rewritten, by the next', () => {
      configFor(`{ preset: 'node', module: 'server.js', port: 8080 }`);
      expect(shipit(['units', 'production']).status).toBe(0);
      expect(shipit(['--version']).status).toBe(0);
      const files = cached();
      expect(files).toEqual([expect.stringMatching(/^other-[0-9a-f]{20}\.bin$/), expect.stringMatching(/^units-[0-9a-f]{20}\.bin$/)]);
      const units = join(cacheDir(), files[1]!);
      expect(statSync(units).size).toBeGreaterThan(50_000);
      // Rewritten only when missing or rejected by V8: an old mtime that stays old means V8 took it.
      utimesSync(units, LONG_AGO, LONG_AGO);
      const again = shipit(['units', 'production']);
      expect(again.status).toBe(0);
      expect(again.stdout).toContain('ListenStream=0.0.0.0:8080');
      expect(statSync(units).mtime).toEqual(LONG_AGO);
    });

    it('is rewritten when V8 rejects it, and the command runs anyway', () => {
      expect(shipit(['--version']).status).toBe(0);
      const [file] = cached();
      const path = join(cacheDir(), file!);
      const garbage = Buffer.alloc(statSync(path).size, 0x5a);
      writeFileSync(path, garbage);
      const r = shipit(['--version']);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(readFileSync(path).equals(garbage)).toBe(false);
    });

    it('is keyed by the bundle\'s text, not its length (which is all V8 checks)', () => {
      const copy = join(dir, 'pkg');
      for (const part of ['bin', 'package.json', 'units', 'dist']) cpSync(join(ROOT, part), join(copy, part), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
      const bin = join(copy, 'bin/shipit.js');
      expect(shipit(['--help'], bin).stdout).toContain('Deploy built artifacts');
      const bundle = join(copy, 'dist/shipit.cjs');
      const text = readFileSync(bundle, 'latin1');
      writeFileSync(bundle, text.replace('Deploy built artifacts', 'Deploy BUILT artifacts'), 'latin1');
      const r = shipit(['--help'], bin);
      expect(r.stdout).toContain('Deploy BUILT artifacts');
      // The first run's file was replaced by the new bundle's.
      expect(cached()).toEqual([expect.stringMatching(/^other-/)]);
    });

    it("replaces an older bundle's file for the same command and leaves the other commands' files", () => {
      mkdirSync(cacheDir(), { recursive: true });
      writeFileSync(join(cacheDir(), 'other-00000000000000000000.bin'), 'old');
      writeFileSync(join(cacheDir(), 'status-00000000000000000000.bin'), 'old');
      expect(shipit(['--version']).status).toBe(0);
      expect(cached()).toEqual([expect.stringMatching(/^other-(?!0{20})[0-9a-f]{20}\.bin$/), 'status-00000000000000000000.bin']);
    });

    it('is neither read nor written with SHIPIT_COMPILE_CACHE=0, and an unwritable cache directory costs nothing', () => {
      expect(shipit(['--version'], BIN, { SHIPIT_COMPILE_CACHE: '0' }).status).toBe(0);
      expect(existsSync(cacheDir())).toBe(false);
      writeFileSync(join(dir, 'cache'), 'a file where the directory would go');
      const r = shipit(['--version']);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
    });
  });
});
