import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { readLab, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';
import { deployJson, expectSuccess } from './support/deploy-json.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';
import { writeWheel } from './support/wheel.js';

/**
 * Python dependency sets on 3 lab hosts (issue 7): examples/fastapi with a requirements file whose local package
 * ships as a wheel (the hosts have no index), in a virtualenv that also sees Debian's fastapi/uvicorn/gunicorn.
 * One set per requirements+wheelhouse+interpreter, reused by releases, kept for rollback, pruned with releases.
 */
const APP = 'e2e-deps';
// Ports of their own: apps of other suites stay deployed (and their sockets listening) after those suites.
const PORT = 8110;
const D = `/srv/${APP}`;
jest.setTimeout(300_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;
const figures: Record<string, number | string> = {};

const deploy = () => deployJson(project);

const depsServed = () =>
  Promise.all(hosts.map(async (h) => (await httpGet(h.address, PORT, '/deps')).body as { greet: string | null; prefix: string; release: string }));
const sets = async (address: string) => (await onHost(lab, address, `ls ${D}/deps/python 2>/dev/null || true`)).split('\n').filter(Boolean).sort();
const markers = (address: string) => onHost(lab, address, `stat -c '%n %Y.%y' ${D}/deps/python/*/.shipit-set.json 2>/dev/null || true`);
const linkOf = async (address: string, release: string) => (await onHost(lab, address, `readlink ${D}/releases/${release}/.shipit/venv`)).trim();

function setRequirements(lines: string[]): void {
  writeFileSync(join(project.dir, 'requirements.txt'), `${lines.join('\n')}\n`);
}

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 3);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  project = new Project(lab, {
    app: APP,
    port: PORT,
    hosts,
    server: "python: { requirements: 'requirements.txt', wheelhouse: 'wheels', systemSitePackages: true },",
    extra: 'keepReleases: 2,',
  });
  // The app reports which version of the wheel it imported, and from which interpreter prefix.
  appendFileSync(
    join(project.appDir, 'app/main.py'),
    `

@app.get("/deps")
async def deps():
    import sys
    try:
        import shipit_greet
        greet = shipit_greet.greet("e2e")
    except ImportError:
        greet = None
    return {"greet": greet, "prefix": sys.prefix, "release": RELEASE}
`,
  );
  rmSync(join(project.appDir, 'requirements.txt'));
  mkdirSync(join(project.dir, 'wheels'));
  writeWheel(join(project.dir, 'wheels'), 'shipit-greet', '1.0.0');
  setRequirements(['shipit-greet==1.0.0']);
});
afterAll(async () => {
  // eslint-disable-next-line no-console
  console.log(`[deps figures] python: ${JSON.stringify(figures)}`);
  project?.cleanup();
  await Promise.all((hosts ?? []).map((h) => wipeApp(lab, h.address, APP)));
});

describe('python dependency sets on 3 lab hosts', () => {
  let setA: string;
  let first: string;
  let second: string;
  let third: string;

  it('the first deploy builds the set on every host; gunicorn runs from the virtualenv and imports the wheel', async () => {
    project.setVersion('p1');
    const { run, wallMs, prepareMs, prepared, release } = await deploy();
    expectSuccess(run);
    first = release!;
    figures['first deploy, new set: wall (s)'] = wallMs / 1000;
    figures['first deploy, new set: prepare phase (s)'] = prepareMs / 1000;
    expect(prepared).toHaveLength(3);
    for (const e of prepared) expect(e.deps).toEqual([expect.objectContaining({ kind: 'python', created: true })]);
    setA = prepared[0]!.deps[0]!.set;
    for (const e of prepared) expect(e.deps[0]!.set).toBe(setA);
    for (const body of await depsServed()) {
      expect(body).toMatchObject({ greet: 'hello e2e from shipit-greet 1.0.0', release: first });
      expect(body.prefix).toMatch(/\.shipit\/venv$|\/deps\/python\//);
    }
    const h = hosts[0]!.address;
    expect(await sets(h)).toEqual([setA]);
    expect(await linkOf(h, first)).toBe(`../../../deps/python/${setA}`);
    // The master is the virtualenv's python running gunicorn (the workers' sys.prefix above says the same at run
    // time; the master's command line now holds its title); the set is read-only for the service, compiled.
    expect(await onHost(lab, h, `systemctl show -p ExecStart --value ${APP}.service`)).toMatch(/exec \.shipit\/venv\/bin\/python -m gunicorn /);
    const cmdline = await onHost(lab, h, `tr -d '\\0' < /proc/$(systemctl show -p MainPID --value ${APP}.service)/cmdline`);
    expect(cmdline.trim()).toBe(`gunicorn: master [${APP}]`);
    expect((await onHost(lab, h, `stat -c '%U:%G %a' ${D}/deps/python/${setA}`)).trim()).toBe(`root:${APP} 750`);
    expect(await onHost(lab, h, `find ${D}/deps/python/${setA}/lib -name '*.pyc' | head -1`)).toMatch(/shipit_greet\/__pycache__\/__init__\.cpython-\d+\.pyc/);
    figures['disk per set (KiB, du -sk)'] = Number((await onHost(lab, h, `du -sk ${D}/deps/python/${setA}`)).split('\t')[0]);
  });

  it('a redeploy with only app code changed reuses the set: no install runs, the same set', async () => {
    const before = await Promise.all(hosts.map((h) => markers(h.address)));
    project.setVersion('p2');
    const { run, wallMs, prepareMs, prepared, release } = await deploy();
    expectSuccess(run);
    second = release!;
    figures['redeploy, reused set: wall (s)'] = wallMs / 1000;
    figures['redeploy, reused set: prepare phase (s)'] = prepareMs / 1000;
    for (const e of prepared) expect(e.deps).toEqual([expect.objectContaining({ kind: 'python', set: setA, created: false })]);
    expect(await Promise.all(hosts.map((h) => markers(h.address)))).toEqual(before);
    for (const h of hosts) expect(await sets(h.address)).toEqual([setA]);
    for (const body of await depsServed()) expect(body).toMatchObject({ greet: 'hello e2e from shipit-greet 1.0.0', release: second });
  });

  it('a change to the requirements builds a new set; rollback returns to the old one without installing', async () => {
    writeWheel(join(project.dir, 'wheels'), 'shipit-greet', '2.0.0');
    setRequirements(['shipit-greet==2.0.0']);
    project.setVersion('p3');
    const { run, wallMs, prepareMs, prepared, release } = await deploy();
    expectSuccess(run);
    third = release!;
    figures['changed requirements, new set: wall (s)'] = wallMs / 1000;
    figures['changed requirements, new set: prepare phase (s)'] = prepareMs / 1000;
    figures['set build on the host (s)'] = prepared[0]!.deps[0]!.durationMs / 1000;
    const setB = prepared[0]!.deps[0]!.set;
    expect(setB).not.toBe(setA);
    for (const e of prepared) expect(e.deps).toEqual([expect.objectContaining({ set: setB, created: true })]);
    for (const body of await depsServed()) expect(body).toMatchObject({ greet: 'hello e2e from shipit-greet 2.0.0', release: third });
    for (const h of hosts) expect(await sets(h.address)).toEqual([setA, setB].sort());

    const before = await Promise.all(hosts.map((h) => markers(h.address)));
    const started = Date.now();
    const back = await project.shipit(['rollback', 'production']);
    figures['rollback (s)'] = (Date.now() - started) / 1000;
    expectSuccess(back);
    for (const body of await depsServed()) expect(body).toMatchObject({ greet: 'hello e2e from shipit-greet 1.0.0', release: second });
    expect(await Promise.all(hosts.map((h) => markers(h.address)))).toEqual(before);
  });

  it('a requirement missing from the wheelhouse fails prepare on every host with pip\'s error; every host keeps serving', async () => {
    setRequirements(['shipit-greet==2.0.0', 'shipit-missing==1.0']);
    project.setVersion('p4');
    const { run } = await deploy();
    expect(run.exitCode).toBe(5);
    for (const h of hosts) expect(run.all).toContain(`${h.name}: installing the Python dependencies failed: pip failed:`);
    expect(run.all).toMatch(/No matching distribution found for shipit-missing==1\.0/);
    for (const body of await depsServed()) expect(body).toMatchObject({ greet: 'hello e2e from shipit-greet 1.0.0', release: second });
    // Nothing half-built is left: only the two complete sets.
    for (const h of hosts) expect((await sets(h.address)).length).toBe(2);
  });

  it('a worker class its module does not define fails prepare naming the class, not a wheel to add; every host keeps serving', async () => {
    const server = "python: { requirements: 'requirements.txt', wheelhouse: 'wheels', systemSitePackages: true },";
    setRequirements(['shipit-greet==1.0.0']);
    project.writeConfig({ server: `${server} workerClass: 'uvicorn.workers.NopeWorker',` });
    try {
      const { run } = await deploy();
      expect(run.exitCode).toBe(5);
      for (const h of hosts) expect(run.all).toContain(`${h.name}: installing the Python dependencies failed: uvicorn.workers defines no NopeWorker`);
      expect(run.all).toContain('hint: check the spelling of server.workerClass');
      for (const body of await depsServed()) expect(body).toMatchObject({ greet: 'hello e2e from shipit-greet 1.0.0', release: second });
      for (const h of hosts) expect((await sets(h.address)).length).toBe(2);
    } finally {
      project.writeConfig({ server });
    }
  });

  it('sets that no kept release uses are pruned with the releases', async () => {
    // Back to set A's exact inputs: the same requirements and wheelhouse.
    rmSync(join(project.dir, 'wheels/shipit_greet-2.0.0-py3-none-any.whl'));
    setRequirements(['shipit-greet==1.0.0']);
    project.setVersion('p5');
    const a = await deploy();
    expectSuccess(a.run);
    for (const e of a.prepared) expect(e.deps[0]).toMatchObject({ set: setA, created: false });
    project.setVersion('p6');
    const b = await deploy();
    expectSuccess(b.run);
    // keepReleases 2: the releases of p5 and p6 remain, both on set A; set B (p3's) went with p3.
    for (const h of hosts) {
      expect(await sets(h.address)).toEqual([setA]);
      const kept = (await onHost(lab, h.address, `ls ${D}/releases`)).split('\n').filter(Boolean).sort();
      expect(kept).toEqual([a.release, b.release].sort());
    }
    expect(first).toBeDefined();
  });
});
