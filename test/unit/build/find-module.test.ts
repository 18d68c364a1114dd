// The worker-class prerequisite, run by this machine's python3: it must find what is installed without
// importing it, and refuse what is not.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findModule } from '../../../src/build/release.js';

describe('findModule', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipit-pymod-'));
    mkdirSync(join(dir, 'pkg/sub'), { recursive: true });
    writeFileSync(join(dir, 'pkg/__init__.py'), '');
    // Importing any of these would fail: proof that the check locates without importing.
    writeFileSync(join(dir, 'pkg/workers.py'), 'raise SystemExit(7)\n');
    writeFileSync(join(dir, 'pkg/sub/__init__.py'), 'raise SystemExit(7)\n');
    writeFileSync(join(dir, 'pkg/native.cpython-311-x86_64-linux-gnu.so'), '');
    writeFileSync(join(dir, 'pkg/native2.so'), '');
    writeFileSync(join(dir, 'plain.py'), '');
    // Read, never run: each raises at import.
    writeFileSync(join(dir, 'pkg/defs.py'), 'raise SystemExit(7)\nclass Good:\n    pass\nAlias = Good\nfrom os import path as Renamed\ntry:\n    from x import Guarded\nexcept ImportError:\n    Fallback = None\n');
    writeFileSync(join(dir, 'pkg/star.py'), 'raise SystemExit(7)\nfrom os import *\n');
    writeFileSync(join(dir, 'pkg/lazy.py'), 'raise SystemExit(7)\ndef __getattr__(name):\n    raise AttributeError(name)\n');
    writeFileSync(join(dir, 'top.py'), 'raise SystemExit(7)\nclass Top: pass\n');
    // A class's own __getattr__ says nothing about the module's names.
    writeFileSync(join(dir, 'pkg/method.py'), 'raise SystemExit(7)\nclass Proxy:\n    def __getattr__(self, name):\n        return name\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const found = (module: string) => spawnSync('python3', ['-c', findModule(module)], { env: { ...process.env, PYTHONPATH: dir } }).status;

  it.each([
    ['pkg', 0],
    ['pkg.workers', 0],
    ['pkg.sub', 0],
    ['pkg.native2', 0],
    ['json.decoder', 0],
    ['pkg.missing', 1],
    ['missing', 1],
    ['missing.workers', 1],
    ['plain.workers', 1],
  ])('%s → exit %d', (module, code) => expect(found(module)).toBe(code));

  const named = (module: string, name: string) => spawnSync('python3', ['-c', findModule(module, name)], { env: { ...process.env, PYTHONPATH: dir } }).status;

  it.each([
    ['pkg.defs', 'Good', 0],
    ['pkg.defs', 'Alias', 0],
    ['pkg.defs', 'Renamed', 0],
    ['pkg.defs', 'Guarded', 0],
    ['pkg.defs', 'Fallback', 0],
    ['pkg.defs', 'NopeWorker', 2],
    // The `class <name>` line that answers without ast is that name's, not a longer one's.
    ['pkg.defs', 'Goo', 2],
    ['pkg.method', 'Prox', 2],
    ['pkg.defs', 'path', 2],
    ['pkg.star', 'Anything', 0],
    ['pkg.lazy', 'Anything', 0],
    ['pkg.method', 'Anything', 2],
    ['pkg', 'Nope', 2],
    ['top', 'Top', 0],
    ['top', 'Nope', 2],
    ['json.decoder', 'JSONDecoder', 0],
    ['json.decoder', 'NopeDecoder', 2],
    // In doubt, yes: a compiled module's names are not read.
    ['pkg.native2', 'Anything', 0],
    // Not there at all: the module's own failure, as without a name.
    ['missing.workers', 'Anything', 1],
    ['pkg.missing', 'Anything', 1],
  ])('%s with %s → exit %d', (module, name, code) => expect(named(module, name)).toBe(code));
});
