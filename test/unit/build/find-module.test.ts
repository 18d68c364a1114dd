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
});
