import type { ResolvedConfig } from '../../../src/config/types.js';
import { checkNodeEntry, configInside } from '../../../src/cli/release.js';

const config = (configFile: string, dir: string) => ({ configDir: '/p', configFile, build: { dir } }) as unknown as ResolvedConfig;

describe('the config file never ships', () => {
  it('is excluded from the artifact when it lies inside the build dir', () => {
    expect(configInside(config('/p/deploy.config.ts', '/p'))).toEqual(['deploy.config.ts']);
    expect(configInside(config('/p/deploy.config.ts', '.'))).toEqual(['deploy.config.ts']);
    expect(configInside(config('/p/conf/shipit.config.mjs', '/p'))).toEqual(['conf/shipit.config.mjs']);
  });

  it('is nothing to exclude when it lies outside', () => {
    expect(configInside(config('/p/deploy.config.ts', '/p/dist'))).toEqual([]);
    expect(configInside(config('/elsewhere/deploy.config.ts', 'dist'))).toEqual([]);
  });
});

describe("the node preset's entry", () => {
  const node = (module: string) => ({ configDir: '/p', configFile: '/p/deploy.config.ts', build: { dir: '/p/dist' }, server: { preset: 'node', module } }) as unknown as ResolvedConfig;
  const types = (map: Record<string, string>) => (file: string) => map[file];
  const error = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      return e as { message: string; exitCode: number; hint?: string };
    }
    throw new Error('no error');
  };

  it('must ship: a config error (exit 2) naming server.module, before any host is touched', () => {
    const e = error(() => checkNodeEntry(node('missing.js'), new Set(['server.js']), types({})));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('server.module: "missing.js" is not a file in build.dir (/p/dist)');
    expect(() => checkNodeEntry(node('./server.js'), new Set(['server.js']), types({}))).not.toThrow();
  });

  it('an entry that is there but left out says by what, and what to change', () => {
    const git = error(() => checkNodeEntry(node('out/server.js'), new Set(['package.json']), types({}), [{ path: 'out/', reason: 'git' }]));
    expect(git.exitCode).toBe(2);
    expect(git.message).toBe('server.module: "out/server.js" does not ship: git ignores out/ (see `git check-ignore -v out/`), and build.dir ships what git would track (build.gitignore)');
    expect(git.hint).toBe("point build.dir at the build's output (build.dir: 'dist/out', server.module: 'server.js'), or set build.gitignore: false to ship what git ignores");
    const excluded = error(() => checkNodeEntry(node('server.js'), new Set([]), types({}), [{ path: 'server.js', reason: 'build.exclude' }]));
    expect(excluded.message).toBe('server.module: "server.js" does not ship: build.exclude leaves out server.js');
    expect(excluded.hint).toBe('take it out of build.exclude');
  });

  it('an ES module by the project\'s package.json above build.dir would load as CommonJS on the hosts: refused', () => {
    const e = error(() => checkNodeEntry(node('server.js'), new Set(['server.js']), types({ '/p/package.json': 'module' })));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/server\.module: server\.js is an ES module here \(\/p\/package\.json says "type": "module"\), but build\.dir ships no package\.json/);
    expect(e.hint).toMatch(/\{"type":"module"\}|name the entry \.mjs/);
  });

  it('is fine when a shipped package.json decides, the project is CommonJS, or the entry is .mjs / .cjs', () => {
    expect(() => checkNodeEntry(node('lib/server.js'), new Set(['lib/server.js', 'package.json']), types({ '/p/package.json': 'module' }))).not.toThrow();
    expect(() => checkNodeEntry(node('lib/server.js'), new Set(['lib/server.js', 'lib/package.json']), types({ '/p/package.json': 'module' }))).not.toThrow();
    expect(() => checkNodeEntry(node('server.js'), new Set(['server.js']), types({ '/p/package.json': '' }))).not.toThrow();
    expect(() => checkNodeEntry(node('server.js'), new Set(['server.js']), types({ '/p/dist/package.json': 'commonjs', '/p/package.json': 'module' }))).not.toThrow();
    expect(() => checkNodeEntry(node('server.mjs'), new Set(['server.mjs']), types({ '/p/package.json': 'module' }))).not.toThrow();
    expect(() => checkNodeEntry(node('server.js'), new Set(['server.js']), types({}))).not.toThrow();
  });
});
