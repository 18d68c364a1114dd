// jest transforms modules, so a named import from CommonJS ssh2 passes here and then may fail in real Node
// ESM: Node's static scan of ssh2's exports finds some names (`Client`) but not others (`utils`): "Named
// export 'utils' not found". Guard the rule from REFERENCE.md: default import, then destructure.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SRC = join(process.cwd(), 'src', 'ssh');

describe('ssh2 under real Node ESM', () => {
  it('src/ssh imports ssh2 values only through the default export', () => {
    const offenders = readdirSync(SRC)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /^import\s+(?!type\b)[^;]*\{[^;]*\}\s+from\s+'ssh2'/m.test(readFileSync(join(SRC, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the default export has what we destructure, and a named import really fails', () => {
    const probe = (code: string) =>
      execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: process.cwd(), encoding: 'utf8', stdio: 'pipe' });
    expect(probe("import ssh2 from 'ssh2'; console.log(typeof ssh2.Client, typeof ssh2.utils.parseKey)").trim()).toBe('function function');
    expect(() => probe("import { utils } from 'ssh2'; console.log(typeof utils)")).toThrow(/Named export 'utils' not found/);
  });
});
