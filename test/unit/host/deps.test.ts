import { Readable } from 'node:stream';
import type { DepsSpec, NodeTarget, PythonDepsSpec } from '../../../src/host/deps-types.js';
import { ensureDeps, packageOf, pipError, type DepsStep } from '../../../src/host/deps.js';
import { ShipitError } from '../../../src/lib/errors.js';
import type { ExecResult } from '../../../src/ssh/transport.js';

const layout = { deployTo: '/srv/hello', app: 'hello', serviceUser: 'hello' };
const ID = '20260101T000000Z';
const PY = '0123456789abcdef';
const NODE = 'fedcba9876543210';

const python: PythonDepsSpec = {
  kind: 'python',
  key: 'a'.repeat(64),
  interpreter: 'python3',
  systemSitePackages: false,
  offline: true,
  imports: [{ module: 'gunicorn', hint: 'add it to requirements.txt' }],
  files: [{ path: 'requirements.txt', mode: 0o644, size: 10, sha256: 'c'.repeat(64) }],
  openTar: () => Readable.from(['tar']),
};

function nodeSpec(builds: NodeTarget[]): DepsSpec {
  return {
    kind: 'node',
    key: 'b'.repeat(64),
    build: async (target) => {
      builds.push(target);
      return { openTar: () => Readable.from(['tar']), files: 1, bytes: 3 };
    },
  };
}

/** A host that answers each step by its label; records the steps. */
function fakeHost(answers: Record<string, Partial<ExecResult>>) {
  const steps: DepsStep[] = [];
  const run = async (step: DepsStep): Promise<ExecResult> => {
    steps.push(step);
    const key = Object.keys(answers).find((label) => step.label.startsWith(label));
    return { code: 0, stdout: '', stderr: '', ...(key ? answers[key] : {}) };
  };
  return { steps, run };
}

const options = { host: 'web1', layout, id: ID, dryRun: false };

describe('ensureDeps', () => {
  it('sets already on the host: one read-only probe and the links, nothing installed or built', async () => {
    const builds: NodeTarget[] = [];
    const host = fakeHost({ 'check dependency sets': { stdout: `0 ${PY} have\n1 ${NODE} have 108 linux-x64\n` } });
    const reports = await ensureDeps(host.run, [python, nodeSpec(builds)], options);
    expect(host.steps.map((s) => [s.label, s.mutates])).toEqual([
      ['check dependency sets', false],
      ['link dependency sets', true],
    ]);
    expect(host.steps[1]!.body).toContain(`ln -sfn ../../../deps/python/${PY} "$T/.shipit/venv"`);
    expect(reports.map(({ durationMs: _, ...r }) => r)).toEqual([
      { kind: 'python', set: PY, created: false },
      { kind: 'node', set: NODE, created: false },
    ]);
    expect(builds).toEqual([]);
  });

  it('missing sets are built: pip on the host for python, npm here for the host\'s node ABI', async () => {
    const builds: NodeTarget[] = [];
    const host = fakeHost({ 'check dependency sets': { stdout: `0 ${PY} need\n1 ${NODE} need 108 linux-x64 18.20.4\n` } });
    const reports = await ensureDeps(host.run, [python, nodeSpec(builds)], options);
    expect(host.steps.map((s) => s.label)).toEqual([
      'check dependency sets',
      `install python dependency set ${PY}`,
      `install node dependency set ${NODE}`,
      'link dependency sets',
    ]);
    expect(host.steps[1]!.stdinNote).toBe('gzipped tar of requirements.txt, 10 bytes before compression');
    expect(builds).toEqual([{ abi: '108', platform: 'linux-x64', version: '18.20.4' }]);
    expect(reports.map((r) => r.created)).toEqual([true, true]);
  });

  it('a dry run builds nothing here and installs nothing there', async () => {
    const builds: NodeTarget[] = [];
    const host = fakeHost({ 'check dependency sets': { stdout: `0 ${NODE} need 108 linux-x64\n` } });
    await ensureDeps(host.run, [nodeSpec(builds)], { ...options, dryRun: true });
    expect(builds).toEqual([]);
  });

  it('pip failing: the host and pip\'s own error lines', async () => {
    const host = fakeHost({
      'check dependency sets': { stdout: `0 ${PY} need\n` },
      'install python': { code: 5, stderr: 'Looking in links: /x\nERROR: Could not find a version that satisfies the requirement nope==1 (from versions: none)\nERROR: No matching distribution found for nope==1\n' },
    });
    const error = await ensureDeps(host.run, [python], options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShipitError);
    expect((error as ShipitError).code).toBe('DEPS_FAILED');
    expect((error as ShipitError).exitCode).toBe(5);
    expect((error as ShipitError).message).toBe(
      'web1: installing the Python dependencies failed: pip failed:\nERROR: Could not find a version that satisfies the requirement nope==1 (from versions: none)\nERROR: No matching distribution found for nope==1',
    );
    expect(host.steps.map((s) => s.label)).not.toContain('link dependency sets');
  });

  it('a module the preset needs missing from the virtualenv: named, with what to do', async () => {
    const host = fakeHost({ 'check dependency sets': { stdout: `0 ${PY} need\n` }, 'install python': { code: 6, stderr: 'missing gunicorn\n' } });
    await expect(ensureDeps(host.run, [python], options)).rejects.toThrow('web1: installing the Python dependencies failed: the virtualenv cannot import gunicorn: add it to requirements.txt');
  });

  it('a worker class that its module does not define: named as such, with the spelling to check, not a wheel to add', async () => {
    const withClass = { ...python, imports: [...python.imports, { module: 'uvicorn.workers', name: 'NopeWorker', hint: 'add it to requirements.txt' }] };
    const host = fakeHost({ 'check dependency sets': { stdout: `0 ${PY} need\n` }, 'install python': { code: 6, stderr: 'undefined uvicorn.workers NopeWorker\n' } });
    const error = (await ensureDeps(host.run, [withClass], options).catch((e: unknown) => e)) as ShipitError;
    expect([error.code, error.message]).toEqual(['DEPS_FAILED', 'web1: installing the Python dependencies failed: uvicorn.workers defines no NopeWorker']);
    expect(error.hint).toMatch(/^check the spelling of server\.workerClass/);
  });

  it('no interpreter on the host: a missing prerequisite', async () => {
    const host = fakeHost({ 'check dependency sets': { code: 3, stdout: 'prereq: python3 cannot run on this host\n' } });
    const error = (await ensureDeps(host.run, [python], options).catch((e: unknown) => e)) as ShipitError;
    expect([error.code, error.message]).toEqual(['PREREQUISITE_MISSING', 'web1: python3 cannot run on this host']);
  });

  it('native addons that do not load on the host: each package named, with node\'s reason on one line', async () => {
    const host = fakeHost({
      'check dependency sets': { stdout: `0 ${NODE} need 108 linux-x64\n` },
      'install node': {
        code: 5,
        stdout:
          "addon\tnode_modules/sd-notify/build/Release/notify.node\tError: The module '/srv/hello/deps/node/x/node_modules/sd-notify/build/Release/notify.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 115. \n",
      },
    });
    await expect(ensureDeps(host.run, [nodeSpec([])], options)).rejects.toThrow(
      "web1: native addons do not load with this host's node (ABI 108): sd-notify (sd-notify/build/Release/notify.node): Error: The module was compiled against a different Node.js version using NODE_MODULE_VERSION 115.",
    );
  });

  it('a set that cannot be built for the host\'s ABI: the deployer\'s reason, for that host', async () => {
    const spec: DepsSpec = { kind: 'node', key: 'b'.repeat(64), build: () => Promise.reject(new Error('sd-notify: native addon(s) (binding.gyp) must be compiled')) };
    const host = fakeHost({ 'check dependency sets': { stdout: `0 ${NODE} need 108 linux-x64\n` } });
    await expect(ensureDeps(host.run, [spec], options)).rejects.toThrow('web1: node_modules for Node ABI 108 (linux-x64): sd-notify: native addon(s) (binding.gyp) must be compiled');
  });
});

describe('helpers', () => {
  it.each([
    ['node_modules/sd-notify/build/Release/notify.node', 'sd-notify'],
    ['node_modules/@scope/pkg/prebuilds/linux-x64/node.napi.node', '@scope/pkg'],
    ['node_modules/a/node_modules/b/b.node', 'b'],
  ])('packageOf(%s) = %s', (path, name) => expect(packageOf(path)).toBe(name));

  it('pipError keeps ERROR lines, else the tail', () => {
    expect(pipError('a\nERROR: x\nb\nERROR: y\n')).toBe('ERROR: x\nERROR: y');
    expect(pipError('one\ntwo\n')).toBe('one\ntwo');
  });
});
