/**
 * examples/node under the runtime, laid out as the deploy tool lays releases out: /srv/app/releases/<id> and a
 * `current` symlink. Checks the probes, the FAULT switches, and that a SIGHUP reload with SHIPIT_APP_DIR pointing
 * at `current` runs the release `current` points to now.
 */
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RuntimeExit } from '../../../src/runtime/exit-codes.js';
import { get, repo, sleep, startLoad, startRuntime, type RuntimeProcess } from './harness.js';
import { startNotifySocket } from './notify-socket.js';

let root: string;
let runtime: RuntimeProcess | undefined;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'shipit-example-'));
  mkdirSync(path.join(root, 'releases'));
});
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  rmSync(root, { recursive: true, force: true });
});

function release(id: string, files: Record<string, string> = {}): string {
  const dir = path.join(root, 'releases', id);
  cpSync(path.join(repo, 'examples/node'), dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

function pointCurrentAt(id: string): string {
  const next = path.join(root, 'current.next');
  symlinkSync(path.join('releases', id), next);
  renameSync(next, path.join(root, 'current')); // atomic, like `ln -nfs tmp && mv -fT`
  return path.join(root, 'current');
}

const json = async (port: number, urlPath: string): Promise<{ status: number; body: unknown }> => {
  const reply = await get(port, urlPath);
  return { status: reply.status, body: JSON.parse(reply.body) as unknown };
};

describe('examples/node under the runtime', () => {
  it('answers /healthz, /readyz (release and version) and /', async () => {
    release('20260101-aaaa');
    const current = pointCurrentAt('20260101-aaaa');
    runtime = startRuntime({ cwd: current, env: { SHIPIT_APP: 'server.js', SHIPIT_ACCESS_LOG: '1' } });
    const port = await runtime.port();
    expect(await json(port, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    const access = await runtime.waitForLog((l) => l.msg === 'request', 5000, 'an access log line');
    expect(access).toEqual({
      ts: expect.any(String),
      level: 'info',
      msg: 'request',
      worker: expect.any(Number),
      pid: expect.any(Number),
      method: 'GET',
      path: '/healthz',
      status: 200,
      duration_ms: expect.any(Number),
    });
    expect(await json(port, '/readyz')).toEqual({ status: 200, body: { status: 'ready', release: '20260101-aaaa', version: '1.0.0' } });
    expect(await json(port, '/')).toEqual({ status: 200, body: { pid: expect.any(Number), version: '1.0.0', release: '20260101-aaaa' } });
    expect((await get(port, '/nope')).status).toBe(404);
  }, 20_000);

  it('FAULT=never-ready: starts, /healthz 200, /readyz 503', async () => {
    const current = pointCurrentAt(path.basename(release('bad', { FAULT: 'never-ready\n' })));
    runtime = startRuntime({ cwd: current, env: { SHIPIT_APP: 'server.js' } });
    const port = await runtime.port();
    expect((await get(port, '/healthz')).status).toBe(200);
    expect(await json(port, '/readyz')).toEqual({ status: 503, body: { status: 'not-ready', reason: 'FAULT says never-ready' } });
  }, 20_000);

  it('FAULT=crash-on-import: the runtime exits 4 (app could not be loaded)', async () => {
    const current = pointCurrentAt(path.basename(release('broken', { FAULT: 'crash-on-import' })));
    runtime = startRuntime({ cwd: current, env: { SHIPIT_APP: 'server.js' } });
    expect(await runtime.exited).toEqual({ code: RuntimeExit.appLoadFailed, signal: null });
  }, 20_000);

  it('SIGHUP with SHIPIT_APP_DIR=current runs the release current points to now', async () => {
    release('r1');
    release('r2', { VERSION: '2.0.0\n' });
    const current = pointCurrentAt('r1');
    runtime = startRuntime({ cwd: current, env: { SHIPIT_APP: 'server.js', SHIPIT_APP_DIR: current } });
    const port = await runtime.port();
    await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 15_000);
    expect(await json(port, '/readyz')).toMatchObject({ body: { release: 'r1', version: '1.0.0' } });
    pointCurrentAt('r2');
    runtime.signal('SIGHUP');
    await runtime.waitForLog((l) => l.msg === 'reload complete', 15_000);
    for (let i = 0; i < 4; i += 1) expect(await json(port, '/readyz')).toMatchObject({ body: { release: 'r2', version: '2.0.0' } });
  }, 30_000);

  it('SIGHUP onto a release that cannot boot keeps the old workers serving and says so to systemd', async () => {
    const notify = await startNotifySocket();
    try {
      release('good');
      release('broken', { FAULT: 'crash-on-import' });
      const current = pointCurrentAt('good');
      runtime = startRuntime({
        cwd: current,
        env: { SHIPIT_APP: 'server.js', SHIPIT_APP_DIR: current, NOTIFY_SOCKET: notify.path, SHIPIT_SD_NOTIFY: path.join(repo, 'node_modules/sd-notify') },
      });
      const port = await runtime.port();
      await notify.waitFor((d) => d.some((m) => m.includes('READY=1')), 15_000);
      const load = startLoad(port, { concurrency: 4, keepAlive: false, path: '/healthz', maxMs: 15_000 });
      pointCurrentAt('broken');
      runtime.signal('SIGHUP');
      await runtime.waitForLog((l) => l.msg === 'reload failed; keeping the workers that serve', 10_000);
      await notify.waitFor((d) => d.filter((m) => m.includes('READY=1')).length === 2, 5000);
      await sleep(300);
      const result = await load.stop();
      expect(result.failed).toBe(0);
      expect(runtime.child.exitCode).toBeNull(); // still running, on the old release
      expect(await json(port, '/readyz')).toMatchObject({ status: 200, body: { release: 'good' } });
      const afterReady = notify.datagrams.slice(notify.datagrams.findIndex((m) => m.includes('READY=1')) + 1);
      expect(afterReady[0]).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading: 0 of 2 replaced; 2 workers serving$/);
      expect(afterReady.find((m) => m.includes('READY=1'))).toMatch(
        /^READY=1\nSTATUS=2 workers serving; reload failed: FAULT says crash-on-import: this release is broken on purpose \(at server\.js:\d+:\d+\)$/,
      );
    } finally {
      await runtime?.stop();
      await notify.close();
    }
  }, 30_000);
});
