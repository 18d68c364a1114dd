import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { execa } from 'execa';
import { readLab, type LabInfo } from './support/lab.js';
import { Project, ROOT } from './support/project.js';
import { deployJson, expectSuccess } from './support/deploy-json.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

/**
 * Node dependency sets on 3 lab hosts (issue 7): examples/node under the node preset with a production
 * dependency (a local tarball, so no registry is needed) and a devDependency that must not ship. The hosts have
 * node 18 and no npm: node_modules is built here (`npm ci --omit=dev`) once per lock file and host ABI, shipped
 * to hosts that lack it, loaded there, and linked into releases.
 */
const APP = 'e2e-deps-node';
const PORT = 8111;
const D = `/srv/${APP}`;
jest.setTimeout(300_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;
let vendor: string;
const figures: Record<string, number | string> = {};

const deploy = () => deployJson(project);

const depsServed = () => Promise.all(hosts.map(async (h) => (await httpGet(h.address, PORT, '/deps')).body as { greet: string; release: string }));
const sets = async (address: string) => (await onHost(lab, address, `ls ${D}/deps/node 2>/dev/null || true`)).split('\n').filter(Boolean).sort();
const markers = (address: string) => onHost(lab, address, `stat -c '%n %Y.%y' ${D}/deps/node/*/.shipit-set.json 2>/dev/null || true`);

/** A package tarball (npm pack) in the project's vendor/ dir. */
async function pack(name: string, version: string, files: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'shipit-pkg-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version, main: 'index.js', license: 'MIT' }));
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  const { stdout } = await execa('npm', ['pack', '--silent', '--pack-destination', vendor], { cwd: dir });
  rmSync(dir, { recursive: true, force: true });
  return `file:vendor/${stdout.trim().split('\n').at(-1)}`;
}

const greetPackage = (version: string) => pack('shipit-greet', version, { 'index.js': `module.exports = (name) => \`hello \${name} from shipit-greet ${version}\`;\n` });

/** Rewrites the app's package.json (version, dependencies) and its lock file, as `npm install` would. */
async function setPackage(version: string, dependencies: Record<string, string>, devDependencies: Record<string, string>): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(project.appDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(project.appDir, 'package.json'), JSON.stringify({ ...manifest, version, dependencies, devDependencies }, null, 2));
  await execa('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--offline'], { cwd: project.appDir });
}

let greet1: string;
let greet2: string;
let devOnly: string;

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 3);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  project = new Project(lab, { app: APP, port: PORT, hosts, preset: 'node', server: "npm: { lockfile: 'dist/package-lock.json' },", extra: 'keepReleases: 2,' });
  vendor = join(project.appDir, 'vendor');
  mkdirSync(vendor);
  // The example's handler, wrapped: /deps answers from the production dependency.
  renameSync(join(project.appDir, 'server.js'), join(project.appDir, 'app.js'));
  writeFileSync(
    join(project.appDir, 'server.js'),
    `import greet from 'shipit-greet';
import { handler as app, ready } from './app.js';
export { ready };
export async function handler(req, res) {
  if (req.url !== '/deps') return app(req, res);
  const body = JSON.stringify({ greet: greet('e2e'), release: process.cwd().split('/').pop() });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
}
`,
  );
  greet1 = await greetPackage('1.0.0');
  greet2 = await greetPackage('2.0.0');
  devOnly = await pack('shipit-devonly', '1.0.0', { 'index.js': 'module.exports = 1;\n' });
  // A node_modules of the developer's (with devDependencies) must not ship: the set replaces it.
  mkdirSync(join(project.appDir, 'node_modules/stray'), { recursive: true });
  writeFileSync(join(project.appDir, 'node_modules/stray/index.js'), '');
  await setPackage('1.0.0', { 'shipit-greet': greet1 }, { 'shipit-devonly': devOnly });
});
afterAll(async () => {
  // eslint-disable-next-line no-console
  console.log(`[deps figures] node: ${JSON.stringify(figures)}`);
  project?.cleanup();
  await Promise.all((hosts ?? []).map((h) => wipeApp(lab, h.address, APP)));
});

describe('node dependency sets on 3 lab hosts', () => {
  let setA: string;
  let second: string;

  it('the first deploy ships production node_modules built here, once, to every host', async () => {
    project.setVersion('m1');
    const { run, wallMs, prepareMs, prepared } = await deploy();
    expectSuccess(run);
    figures['first deploy, new set: wall (s)'] = wallMs / 1000;
    figures['first deploy, new set: prepare phase (s)'] = prepareMs / 1000;
    expect(prepared).toHaveLength(3);
    setA = prepared[0]!.deps[0]!.set;
    for (const e of prepared) expect(e.deps).toEqual([expect.objectContaining({ kind: 'node', set: setA, created: true })]);
    for (const body of await depsServed()) expect(body.greet).toBe('hello e2e from shipit-greet 1.0.0');
    const h = hosts[0]!.address;
    expect(await sets(h)).toEqual([setA]);
    expect((await onHost(lab, h, `readlink ${D}/current/node_modules`)).trim()).toBe(`../../deps/node/${setA}/node_modules`);
    expect((await onHost(lab, h, `ls ${D}/deps/node/${setA}/node_modules`)).split('\n')).not.toContain('shipit-devonly');
    expect((await onHost(lab, h, `ls ${D}/deps/node/${setA}/node_modules`)).split('\n')).not.toContain('stray');
    figures['disk per set (KiB, du -sk)'] = Number((await onHost(lab, h, `du -sk ${D}/deps/node/${setA}`)).split('\t')[0]);
  });

  it('a redeploy with app code and the app\'s version bumped reuses the set: nothing is built or installed', async () => {
    const before = await Promise.all(hosts.map((h) => markers(h.address)));
    await setPackage('1.0.1', { 'shipit-greet': greet1 }, { 'shipit-devonly': devOnly });
    project.setVersion('m2');
    const { run, wallMs, prepareMs, prepared, release } = await deploy();
    expectSuccess(run);
    second = release!;
    figures['redeploy, reused set: wall (s)'] = wallMs / 1000;
    figures['redeploy, reused set: prepare phase (s)'] = prepareMs / 1000;
    for (const e of prepared) expect(e.deps).toEqual([expect.objectContaining({ set: setA, created: false })]);
    expect(await Promise.all(hosts.map((h) => markers(h.address)))).toEqual(before);
  });

  it('a changed lock file makes a new set; rollback returns to the old one without installing', async () => {
    await setPackage('1.0.2', { 'shipit-greet': greet2 }, { 'shipit-devonly': devOnly });
    project.setVersion('m3');
    const { run, prepared, prepareMs } = await deploy();
    expectSuccess(run);
    figures['changed lock, new set: prepare phase (s)'] = prepareMs / 1000;
    const setB = prepared[0]!.deps[0]!.set;
    expect(setB).not.toBe(setA);
    for (const e of prepared) expect(e.deps[0]).toMatchObject({ set: setB, created: true });
    for (const body of await depsServed()) expect(body.greet).toBe('hello e2e from shipit-greet 2.0.0');
    const before = await Promise.all(hosts.map((h) => markers(h.address)));
    const back = await project.shipit(['rollback', 'production']);
    expectSuccess(back);
    for (const body of await depsServed()) expect(body).toEqual({ greet: 'hello e2e from shipit-greet 1.0.0', release: second });
    expect(await Promise.all(hosts.map((h) => markers(h.address)))).toEqual(before);
    for (const h of hosts) expect(await sets(h.address)).toEqual([setA, setB].sort());
  });

  /**
   * A package of this repository's node_modules as a local tarball, its dependencies left to the app (so that
   * everything installs offline). sd-notify as published is C++ against V8 (binding.gyp), compiled at install
   * time for one Node ABI; with `withBuild` it carries the binary compiled for this machine's Node.
   */
  const packFromRepo = async (name: string, withBuild = false) => {
    const dir = mkdtempSync(join(tmpdir(), `shipit-${name}-`));
    cpSync(join(ROOT, 'node_modules', name), dir, { recursive: true, filter: (src) => withBuild || !src.includes(`${name}/build`) });
    rmSync(join(dir, 'build/Release/obj.target'), { recursive: true, force: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...manifest, dependencies: {}, files: undefined }));
    const { stdout } = await execa('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', vendor], { cwd: dir });
    rmSync(dir, { recursive: true, force: true });
    const named = join(vendor, `${name}-${withBuild ? 'prebuilt' : 'source'}.tgz`);
    renameSync(join(vendor, stdout.trim().split('\n').at(-1)!), named);
    return `file:vendor/${named.split('/').at(-1)}`;
  };
  const sdNotify = (withBuild: boolean) => packFromRepo('sd-notify', withBuild);

  it('a native addon that must be compiled for the hosts\' ABI is refused on every host, naming it; the fleet keeps serving', async () => {
    if (process.versions.modules === '108') return; // this machine runs the hosts' Node: it would compile it for them
    await setPackage('1.0.3', { 'shipit-greet': greet1, 'sd-notify': await sdNotify(false) }, {});
    project.setVersion('m4');
    const { run } = await deploy();
    expect(run.exitCode).toBe(5);
    for (const h of hosts) {
      expect(run.all).toContain(`${h.name}: node_modules for Node ABI 108 (linux-x64): sd-notify: native addon(s) (binding.gyp) must be compiled for the hosts' Node ABI 108`);
    }
    for (const body of await depsServed()) expect(body).toEqual({ greet: 'hello e2e from shipit-greet 1.0.0', release: second });
  });

  it('a prebuilt addon that does not load with the hosts\' node is refused by the hosts, naming it', async () => {
    if (process.versions.modules === '108') return;
    await setPackage('1.0.4', { 'shipit-greet': greet1, 'sd-notify': await sdNotify(true) }, {});
    project.setVersion('m5');
    const { run } = await deploy();
    expect(run.exitCode).toBe(5);
    for (const h of hosts) expect(run.all).toContain(`${h.name}: native addons do not load with this host's node (ABI 108): sd-notify (sd-notify/build/Release/notify.node)`);
    expect(run.all).toMatch(/NODE_MODULE_VERSION 115/);
    for (const body of await depsServed()) expect(body).toEqual({ greet: 'hello e2e from shipit-greet 1.0.0', release: second });
    for (const h of hosts) expect((await sets(h.address)).length).toBe(2);
  });

  it('with server.npm.nodedir (the hosts\' Node headers), sd-notify is compiled here for the hosts, loads there and serves READY=1', async () => {
    const nodedir = hostNodeHeaders();
    project.writeConfig({ server: `npm: { lockfile: 'dist/package-lock.json', nodedir: '${nodedir}' },` });
    const deps = { 'shipit-greet': greet1, 'sd-notify': await sdNotify(false), bindings: await packFromRepo('bindings'), 'file-uri-to-path': await packFromRepo('file-uri-to-path') };
    await setPackage('1.0.5', deps, {});
    project.setVersion('m6');
    const { run, prepared, prepareMs } = await deploy();
    expectSuccess(run);
    figures['native addon compiled for the hosts, new set: prepare phase (s)'] = prepareMs / 1000;
    for (const e of prepared) expect(e.deps[0]).toMatchObject({ kind: 'node', created: true });
    for (const body of await depsServed()) expect(body.greet).toBe('hello e2e from shipit-greet 1.0.0');
    for (const h of hosts) {
      expect(await onHost(lab, h.address, `cat ${D}/deps/node/${prepared[0]!.deps[0]!.set}/.shipit-addons`)).toContain('sd-notify/build/Release/notify.node');
      const log = await onHost(lab, h.address, `journalctl -u ${APP}.service --no-pager -o cat -n 300`);
      expect(log.slice(log.lastIndexOf('shipit runtime master') - 200)).toContain('sd_notify: using the sd-notify binding');
    }
  });

  it('a package with prebuilt N-API binaries for several platforms (utf-8-validate) ships; the hosts load their own', async () => {
    // prebuilds/ holds linux-x64, darwin-x64+arm64, win32-ia32 and win32-x64: only the first loads on the hosts,
    // and only it is what node-gyp-build loads there (loading every one refused the set: "invalid ELF header").
    const deps = { 'shipit-greet': greet1, 'utf-8-validate': await packFromRepo('utf-8-validate'), 'node-gyp-build': await packFromRepo('node-gyp-build') };
    await setPackage('1.0.6', deps, {});
    project.setVersion('m7');
    const { run, prepared } = await deploy();
    expectSuccess(run);
    const set = prepared[0]!.deps[0]!.set;
    for (const h of hosts) {
      expect(await onHost(lab, h.address, `cat ${D}/deps/node/${set}/.shipit-addons`)).toContain('utf-8-validate/prebuilds/linux-x64/node.napi.node');
      // What the app gets at run time, as the service user: node-gyp-build's pick (utf-8-validate would fall back
      // to JavaScript silently if it failed), and it works.
      const check = `cd ${D}/current && runuser -u ${APP} -- node -e "console.log(require('node-gyp-build').path('node_modules/utf-8-validate'), require('utf-8-validate')(Buffer.from('ok')))"`;
      expect((await onHost(lab, h.address, check)).trim()).toMatch(/\/node_modules\/utf-8-validate\/prebuilds\/linux-x64\/node\.napi\.node true$/);
    }
  });
});

/** Debian 12's Node headers (libnode-dev: node 18, the hosts' ABI), unpacked, not installed (scripts/build-sd-notify.sh does the same). */
function hostNodeHeaders(): string {
  const work = mkdtempSync(join(tmpdir(), 'shipit-nodedir-'));
  const download = () => execFileSync('apt-get', ['download', 'libnode-dev'], { cwd: work, stdio: 'pipe' });
  try {
    download();
  } catch {
    execFileSync('apt-get', ['update', '-q'], { stdio: 'pipe' });
    download();
  }
  const deb = readdirSync(work).find((f) => f.startsWith('libnode-dev_'))!;
  execFileSync('dpkg-deb', ['-x', join(work, deb), join(work, 'deb')]);
  mkdirSync(join(work, 'nodedir/include'), { recursive: true });
  cpSync(join(work, 'deb/usr/include/node'), join(work, 'nodedir/include/node'), { recursive: true });
  return join(work, 'nodedir');
}
