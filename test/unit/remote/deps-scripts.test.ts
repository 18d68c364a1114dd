import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { PythonDepsSpec } from '../../../src/host/deps-types.js';
import * as deps from '../../../src/remote/deps-scripts.js';

const layout = { deployTo: '/srv/hello', app: 'hello', serviceUser: 'hello' };
const PREAMBLE = ['set -u', 'D=/srv/hello', 'A=hello', 'U=hello', 'S="$D/.shipit"'];
const KEY = 'a'.repeat(64);
const SET = '0123456789abcdef';

const python = (over: Partial<PythonDepsSpec> = {}): PythonDepsSpec => ({
  kind: 'python',
  key: KEY,
  interpreter: 'python3',
  systemSitePackages: false,
  offline: true,
  imports: [{ module: 'gunicorn', hint: '' }],
  files: [{ path: 'requirements.txt', mode: 0o644, size: 6, sha256: 'c'.repeat(64) }],
  openTar: () => {
    throw new Error('not in this test');
  },
  ...over,
});

describe('dependency set scripts (the exact text is what runs on the host)', () => {
  it('probes every set in one read-only command: the id is the key hashed with the host\'s python version or node ABI', () => {
    const node = { kind: 'node' as const, key: 'b'.repeat(64), build: () => Promise.reject(new Error('unused')) };
    expect(deps.depsProbeScript(layout, [python(), node])).toBe(
      [
        ...PREAMBLE,
        `if v=$(python3 -c 'import platform, sys; print(sys.implementation.cache_tag, platform.machine(), sys.version.replace(chr(10), " "))' 2> /dev/null); then`,
        `  h=$(printf '%s\\n%s\\n' ${KEY} "$v" | sha256sum | cut -c1-16)`,
        '  if [ -f "$D/deps/python/$h/.shipit-set.json" ]; then echo "0 $h have"; else echo "0 $h need"; fi',
        `else printf "prereq: %s\\n" 'python3 cannot run on this host (server.python.interpreter; Debian: apt-get install python3 python3-venv python3-pip)'; exit 3; fi`,
        `if f=$(node -p 'process.versions.modules + " " + process.platform + "-" + process.arch + " " + process.versions.node' 2> /dev/null); then`,
        '  t=${f% *}',
        `  h=$(printf '%s\\n%s\\n' ${'b'.repeat(64)} "$t" | sha256sum | cut -c1-16)`,
        '  if [ -f "$D/deps/node/$h/.shipit-set.json" ]; then echo "1 $h have $f"; else echo "1 $h need $f"; fi',
        'else echo "prereq: node cannot run on this host (Debian: apt-get install nodejs)"; exit 3; fi',
      ].join('\n'),
    );
  });

  it('links the staged release to its sets with relative links that still resolve once it is renamed into place', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-link-'));
    try {
      const d = join(root, 'srv');
      const node = 'fedcba9876543210';
      mkdirSync(join(d, 'deps/python', SET), { recursive: true });
      mkdirSync(join(d, 'deps/node', node, 'node_modules'), { recursive: true });
      // A node_modules the artifact carried (a dev's local one): the set's link replaces it.
      mkdirSync(join(d, 'releases/.20260101T000000Z.tmp/node_modules/stale'), { recursive: true });
      const sets = [{ kind: 'python' as const, set: SET }, { kind: 'node' as const, set: node }];
      const r = spawnSync('sh', ['-c', deps.depsLinkScript({ ...layout, deployTo: d }, '20260101T000000Z', sets)], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      renameSync(join(d, 'releases/.20260101T000000Z.tmp'), join(d, 'releases/20260101T000000Z'));
      const release = join(d, 'releases/20260101T000000Z');
      expect(readlinkSync(join(release, '.shipit/venv'))).toMatch(/^\.\.\//);
      expect(realpathSync(join(release, '.shipit/venv'))).toBe(realpathSync(join(d, 'deps/python', SET)));
      expect(realpathSync(join(release, 'node_modules'))).toBe(realpathSync(join(d, 'deps/node', node, 'node_modules')));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('prunes the sets no release links to, run by /bin/sh on a tree like a host\'s', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-prune-'));
    try {
      const d = join(root, 'srv');
      for (const set of ['python/1111111111111111', 'python/2222222222222222', 'node/3333333333333333/node_modules', 'node/4444444444444444/node_modules'])
        mkdirSync(join(d, 'deps', set), { recursive: true });
      mkdirSync(join(d, 'releases/r1/.shipit'), { recursive: true });
      mkdirSync(join(d, 'releases/r2'), { recursive: true });
      mkdirSync(join(d, 'releases/r3/.shipit/venv'), { recursive: true }); // a directory, not a link: links to nothing
      symlinkSync('../../../deps/python/1111111111111111', join(d, 'releases/r1/.shipit/venv'));
      symlinkSync('../../deps/node/3333333333333333/node_modules', join(d, 'releases/r2/node_modules'));
      const r = spawnSync('sh', ['-c', deps.pruneDepsScript({ ...layout, deployTo: d })], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['pruned node/4444444444444444', 'pruned python/2222222222222222']);
      expect(execFileSync('sh', ['-c', `cd ${d}/deps && ls -d */*`]).toString().split('\n').filter(Boolean)).toEqual([
        'node/3333333333333333',
        'python/1111111111111111',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('builds a virtualenv in place, installs offline from the wheelhouse, checks imports, compiles, seals, marks last', () => {
    const lines = deps.pythonInstallScript(layout, SET, python({ systemSitePackages: true })).split('\n');
    expect(lines.slice(5, 10)).toEqual([
      'set -e',
      'umask 022',
      `X="$D/deps/python/${SET}"; L="$X/.shipit/install.log"`,
      'rm -rf "$X"; mkdir -p "$X/.shipit/src"',
      'tar -C "$X/.shipit/src" --no-same-owner -xzf -',
    ]);
    expect(lines).toContain('python3 -m venv --without-pip --system-site-packages "$X" > "$L" 2>&1 || fail');
    expect(lines).toContain(
      'python3 -m pip --python "$X/bin/python" install --no-input --disable-pip-version-check --no-cache-dir --no-warn-script-location --retries 2 --timeout 10 --no-index --find-links "$X/.shipit/src/wheels" -r "$X/.shipit/src/requirements.txt" >> "$L" 2>&1 || fail',
    );
    expect(lines).toContain(`"$X/bin/python" -c 'import gunicorn' >> "$L" 2>&1 || { echo "missing gunicorn" >&2; rm -rf "$X"; exit 6; }`);
    expect(lines).toContain('"$X/bin/python" -m compileall -q -j 0 "$X/lib" >> "$L" 2>&1 || fail');
    // The marker (JSON and a newline) is written last, by the shell's own printf.
    expect(lines.slice(-2).join('\n')).toMatch(/^printf %s '\{.*\}\n' > "\$X\/\.shipit-set\.json"$/);
    expect(lines.slice(-4, -2)).toEqual(['chown -R "root:$U" "$X"', 'chmod -R g+rX,g-w,o-rwx "$X"']);
  });

  it('checks the worker class by name: a module without it exits 6 with `undefined <module> <name>`, run by /bin/sh', () => {
    const spec = python({ imports: [{ module: 'json', hint: '' }, { module: 'json.decoder', name: 'JSONDecoder', hint: '' }] });
    const checks = (name: string) =>
      deps
        .pythonInstallScript(layout, SET, { ...spec, imports: [spec.imports[0]!, { ...spec.imports[1]!, name }] })
        .split('\n')
        .filter((l) => l.startsWith('"$X/bin/python" -c \'import'));
    expect(checks('JSONDecoder')).toHaveLength(3);
    const run = (lines: string[]) => {
      const x = mkdtempSync(join(tmpdir(), 'shipit-venv-'));
      mkdirSync(join(x, 'bin'));
      symlinkSync(execFileSync('sh', ['-c', 'command -v python3']).toString().trim(), join(x, 'bin/python'));
      const r = spawnSync('sh', ['-c', ['set -e', `X=${x}; L="$X/log"`, ...lines, 'echo passed'].join('\n')], { encoding: 'utf8' });
      rmSync(x, { recursive: true, force: true });
      return [r.status, r.stdout.trim() || r.stderr.trim()];
    };
    expect(run(checks('JSONDecoder'))).toEqual([0, 'passed']);
    expect(run(checks('NopeDecoder'))).toEqual([6, 'undefined json.decoder NopeDecoder']);
    expect(run(checks('X').map((l) => l.replace(/json\.decoder/g, 'json.nope')))).toEqual([6, 'missing json.nope']);
  });

  it('installs from the host\'s index when no wheelhouse ships', () => {
    const script = deps.pythonInstallScript(layout, SET, python({ offline: false }));
    expect(script).toContain('python3 -m venv --without-pip "$X"');
    expect(script).not.toContain('--no-index');
  });

  it('loads every native addon of a node set on the host, as the service user, before marking it', () => {
    const script = deps.nodeInstallScript(layout, SET);
    expect(script).toContain(`try_load() { if out=$(as_user node -e 'process.dlopen({ exports: {} }, process.argv[1])' "$1" 2>&1); then`);
    expect(script).toContain('if [ "$bad" != 0 ]; then rm -rf "$X"; exit 5; fi');
  });

  /**
   * The script run here on a set holding two packages of this repository's node_modules that ship prebuildify
   * binaries for several platforms (utf-8-validate: linux-x64, darwin-x64+arm64, win32-*; bufferutil), as
   * node-gyp-build loads them at run time: only this platform's directory counts, and one file of it must load.
   * (Loading every .node file refused every such package: "win32-x64/bufferutil.node: invalid ELF header".)
   */
  describe('prebuilt binaries (prebuilds/<platform>-<arch>/)', () => {
    const root = join(import.meta.dirname, '../../..');
    const install = (extra: Record<string, string> = {}) => {
      const work = mkdtempSync(join(tmpdir(), 'shipit-node-set-'));
      for (const name of ['utf-8-validate', 'bufferutil']) cpSync(join(root, 'node_modules', name), join(work, 'src/node_modules', name), { recursive: true });
      for (const [path, content] of Object.entries(extra)) {
        mkdirSync(dirname(join(work, 'src/node_modules', path)), { recursive: true });
        writeFileSync(join(work, 'src/node_modules', path), content);
      }
      execFileSync('tar', ['-C', join(work, 'src'), '-czf', join(work, 'set.tgz'), 'node_modules']);
      const user = userInfo().username;
      const body = deps.nodeInstallScript({ deployTo: join(work, 'app'), app: 'hello', serviceUser: user }, SET);
      const r = spawnSync('sh', ['-c', body], { input: readFileSync(join(work, 'set.tgz')), encoding: 'utf8' });
      const set = join(work, 'app/deps/node', SET);
      const loaded = existsSync(join(set, '.shipit-addons')) ? readFileSync(join(set, '.shipit-addons'), 'utf8') : '';
      rmSync(work, { recursive: true, force: true });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, loaded };
    };
    const here = `${process.platform}-${process.arch}`;

    it('loads the directory of this platform only, and marks the set', () => {
      const r = install();
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.loaded).toContain(`node_modules/utf-8-validate/prebuilds/${here}/node.napi.node`);
      expect(r.loaded).toContain(`node_modules/bufferutil/prebuilds/${here}/bufferutil.node`);
      expect(r.loaded).not.toMatch(/win32|darwin/);
    });

    it('one file of the directory loading is enough (node-gyp-build picks among them by tags)', () => {
      const r = install({ [`utf-8-validate/prebuilds/${here}/node.abi1.node`]: 'not an ELF file' });
      expect(r.code).toBe(0);
      expect(r.loaded).toContain(`node_modules/utf-8-validate/prebuilds/${here}/node.napi.node`);
    });

    it('refuses a package whose directory for this platform has no file that loads, naming it', () => {
      const r = install({ [`broken/prebuilds/${here}/node.napi.node`]: 'not an ELF file', 'broken/prebuilds/win32-x64/node.napi.node': 'x' });
      expect(r.code).toBe(5);
      expect(r.stdout).toMatch(new RegExp(`^addon\tnode_modules/broken/prebuilds/${here}/node.napi.node\tError: .*(invalid ELF header|file too short)`));
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
    });
  });

  it('refuses ids that could escape their directory', () => {
    expect(() => deps.depsLinkScript(layout, '20260101T000000Z', [{ kind: 'python', set: '../x' }])).toThrow(/invalid dependency set id/);
    expect(() => deps.nodeInstallScript(layout, 'ABC')).toThrow(/invalid dependency set id/);
    expect(() => deps.depsProbeScript(layout, [python({ key: 'nothex' })])).toThrow(/invalid dependency key/);
  });
});
