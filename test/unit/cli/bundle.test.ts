// The CLI users run is dist/shipit.mjs, the bundle scripts/bundle.mjs makes of tsc's output (bin/shipit.js runs
// it). The other unit tests run the sources; these run the bundle itself, as a user would, on what depends on
// where its code sits: the package version, the config loader ('shipit' alias, jiti, cosmiconfig), the unit
// templates and the node runtime that ships with a release.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../src/lib/package-root.js';

const ROOT = packageRoot();
const BIN = join(ROOT, 'bin/shipit.js');
let dir: string;

function shipit(args: string[], bin = BIN): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true', NO_COLOR: '1' }, timeout: 60_000 });
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

describe('the bundled CLI (dist/shipit.mjs)', () => {
  it('is built, and packageRoot() finds the package from the sources', () => {
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).name).toBe('shipit');
    expect(existsSync(join(ROOT, 'dist/shipit.mjs'))).toBe(true);
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

    it('names the missing dependency and `npm ci` when node_modules is incomplete', () => {
      const r = shipit(['--version'], packageWith(['dist'], false));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("shipit's dependencies are incomplete (Cannot find package 'ssh2'");
      expect(r.stderr).toContain('run `npm ci`');
      expect(r.stderr).not.toContain('not built');
    });
  });
});
