/**
 * The runtime as a real process tree: readiness reported to a real notify socket through both sd_notify paths,
 * graceful stop with a request in flight, and the named exit codes of a runtime that cannot start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RuntimeExit } from '../../../src/runtime/exit-codes.js';
import { get, repo, sleep, startRuntime, type RuntimeProcess } from './harness.js';
import { startNotifySocket, type NotifySocket } from './notify-socket.js';
import { openRaw } from './raw-http.js';

let runtime: RuntimeProcess | undefined;
let notify: NotifySocket | undefined;
afterEach(async () => {
  await runtime?.stop();
  await notify?.close();
  runtime = undefined;
  notify = undefined;
});

describe.each([
  { path: 'sd-notify', env: { SHIPIT_SD_NOTIFY: path.join(repo, 'node_modules/sd-notify') } },
  { path: 'systemd-notify', env: {} }, // cwd is a temp dir, so sd-notify does not resolve
])('readiness over a real NOTIFY_SOCKET via $path', ({ path: via, env }) => {
  it('sends READY=1 only after both workers listen and passed ready(), pings the watchdog, and STOPPING=1 on SIGTERM', async () => {
    notify = await startNotifySocket();
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'shipit-rt-'));
    try {
      runtime = startRuntime({
        cwd,
        env: { ...env, NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '400000', FIXTURE_READY_DELAY_MS_2: '1200' },
      });
      const master = await runtime.waitForLog((l) => l.msg === 'shipit runtime master', 10_000);
      if (via === 'sd-notify' && process.env.RUNTIME_NODE !== undefined) {
        // The addon in node_modules was built for the Node that runs jest; another Node (the hosts' 18) refuses
        // it and the runtime falls back, as documented in notify.ts.
        expect(master.notify).toBe('systemd-notify');
        const choice = runtime.lines.find((l) => String(l.msg).startsWith('sd_notify: using systemd-notify'));
        expect(String(choice?.sd_notify_error)).toMatch(/NODE_MODULE_VERSION/);
      } else {
        expect(master.notify).toBe(via);
      }
      const started = Date.now();
      await notify.waitFor((d) => d.some((m) => m.includes('READY=1')), 15_000);
      const readyAfterMs = Date.now() - started;

      const statuses = notify.fields().filter((f) => f.key === 'STATUS').map((f) => f.value);
      const readyIndex = notify.datagrams.findIndex((d) => d.includes('READY=1'));
      expect(notify.datagrams[readyIndex]).toMatch(/(READY=1\nSTATUS=2 workers serving|STATUS=2 workers serving\nREADY=1)/);
      // Before READY=1, systemd only heard "starting" (worker 2's ready() held it back ~1.2 s).
      expect(statuses.slice(0, statuses.indexOf('2 workers serving'))).toEqual(['starting: 0 of 2 workers serving', 'starting: 1 of 2 workers serving']);
      expect(readyAfterMs).toBeGreaterThanOrEqual(900);
      // The master's log reaches us through a pipe, READY=1 through a datagram: the line may come a moment later.
      await runtime.waitForLog((l) => l.msg === 'worker serving' && l.worker === 2, 5_000);
      const serving = runtime.lines.filter((l) => l.msg === 'worker serving');
      expect(serving.map((l) => l.worker).sort()).toEqual([1, 2]);

      // Workers never see the notify socket or the watchdog: only the master talks to systemd.
      const port = await runtime.port();
      const reply = JSON.parse((await get(port, '/env')).body) as { env: Record<string, string> };
      expect(reply.env).toEqual({});

      await notify.waitFor((d) => d.filter((m) => m === 'WATCHDOG=1').length >= 3, 5000);

      runtime.signal('SIGTERM');
      expect(await runtime.exited).toEqual({ code: 0, signal: null });
      await notify.waitFor((d) => d.some((m) => m.includes('STOPPING=1')), 5000);
      expect(notify.datagrams.find((m) => m.includes('STOPPING=1'))).toContain('STATUS=stopping: draining 2 workers');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 25_000);
});

describe("an app's own SIGTERM handler", () => {
  it('does not run on a graceful stop, and the runtime says so once, naming shutdown()', async () => {
    runtime = startRuntime({ env: { FIXTURE_SIGTERM_HANDLER: '1' } });
    await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 10_000);
    runtime.signal('SIGTERM');
    expect(await runtime.exited).toEqual({ code: 0, signal: null });
    const warnings = runtime.lines.filter((l) => String(l.msg).startsWith('the app registers its own SIGTERM handler'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', worker: 1 });
    expect(String(warnings[0]!.msg)).toContain("exported shutdown()");
    expect(runtime.lines.filter((l) => l.msg === 'fixture: app SIGTERM handler ran')).toEqual([]);
  }, 20_000);

  it('is not mentioned when the app has none', async () => {
    runtime = startRuntime();
    await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 10_000);
    expect(runtime.lines.some((l) => String(l.msg).includes('SIGTERM handler'))).toBe(false);
  }, 20_000);
});

describe('an app whose hook is misnamed', () => {
  it('serves, and the runtime says once which export it does not call and what to rename it to', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'shipit-rt-'));
    try {
      writeFileSync(path.join(cwd, 'app.mjs'), "export default (req, res) => res.end('ok');\nexport async function onReady() {}\n");
      runtime = startRuntime({ cwd, env: { SHIPIT_APP: 'app.mjs' } });
      await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 10_000);
      const warnings = runtime.lines.filter((l) => String(l.msg).includes('export onReady'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        level: 'warn',
        worker: 1,
        msg: 'app.mjs: export onReady is not called by the runtime: the hook is named ready, awaited before the worker counts as serving (READY=1, the deploy gate); rename it to ready',
      });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 20_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("an app's own listen()", () => {
  // A trial app that kept its own `listen(8462)` deployed green and served on a port outside the socket unit, unsaid.
  it('is named in a warning, once, with the port; the runtime\'s own listen is not', async () => {
    const own = await freePort();
    const service = await freePort();
    runtime = startRuntime({ env: { PORT: String(service), FIXTURE_OWN_LISTEN: String(own) } });
    await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 10_000);
    await runtime.waitForLog((l) => String(l.msg).startsWith('the app listens on port'), 5_000);
    runtime.signal('SIGTERM');
    expect(await runtime.exited).toEqual({ code: 0, signal: null });
    const warnings = runtime.lines.filter((l) => String(l.msg).startsWith('the app listens on port'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', port: own });
    expect(String(warnings[0]!.msg)).toContain(`port ${own} itself`);
  }, 20_000);

  it('is not mentioned when the app only exports its handler', async () => {
    runtime = startRuntime({ env: { PORT: String(await freePort()) } });
    await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 10_000);
    await sleep(300);
    expect(runtime.lines.some((l) => String(l.msg).startsWith('the app listens on port'))).toBe(false);
  }, 20_000);
});

describe('graceful stop', () => {
  it('lets an in-flight slow request finish on SIGTERM, refuses new connections, and exits 0', async () => {
    runtime = startRuntime({ env: { SHIPIT_GRACEFUL_TIMEOUT: '10' } });
    const port = await runtime.port();
    await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 10_000);
    const slow = get(port, '/slow?ms=1500');
    await sleep(300);
    const stopAt = Date.now();
    runtime.signal('SIGTERM');
    await runtime.waitForLog((l) => l.msg === 'draining: no new connections; finishing in-flight requests', 5000);
    await sleep(100);
    await expect(get(port, '/', { timeoutMs: 2000 })).rejects.toThrow(/ECONNREFUSED/);
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe('close');
    expect(await runtime.exited).toEqual({ code: 0, signal: null });
    const stopMs = Date.now() - stopAt;
    expect(stopMs).toBeGreaterThan(1000); // it waited for the request…
    expect(stopMs).toBeLessThan(5000); // …and not for the graceful timeout
    expect(runtime.count((l) => l.msg === 'killing worker (SIGKILL)')).toBe(0);
  }, 20_000);

  it('SIGKILLs a request that outlives the graceful timeout, still exiting 0', async () => {
    runtime = startRuntime({ env: { SHIPIT_GRACEFUL_TIMEOUT: '1' } });
    const port = await runtime.port();
    await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 10_000);
    const slow = get(port, '/slow?ms=8000').catch((error: Error) => error);
    await sleep(300);
    runtime.signal('SIGTERM');
    expect(await runtime.exited).toEqual({ code: 0, signal: null });
    expect(String(await slow)).toMatch(/socket hang up|ECONNRESET/);
    expect(runtime.count((l) => l.msg === 'killing worker (SIGKILL)' && l.reason === 'still busy at the graceful timeout')).toBe(1);
  }, 20_000);

  it("says every 5 s that a worker waits for the app's ready(), naming the worker, until it settles", async () => {
    runtime = startRuntime({ env: { FIXTURE_READY_DELAY_MS_1: '10500' } });
    const notice = await runtime.waitForLog((l) => l.msg === "waiting for the app's ready() to settle", 10_000, 'the notice');
    expect(notice).toMatchObject({ level: 'warn', worker: 1 });
    expect(Number(notice.waited_ms)).toBeGreaterThanOrEqual(4900);
    await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 10_000);
    await sleep(5_000); // past a third notice's time: none comes once ready() settled
    // At 5 and 10 s, from worker 1 only: worker 2's ready() returned at once.
    const notices = runtime.lines.filter((l) => l.msg === "waiting for the app's ready() to settle");
    expect(notices.map((l) => l.worker)).toEqual([1, 1]);
    expect(Number(notices[1]!.waited_ms)).toBeGreaterThanOrEqual(9900);
  }, 40_000);

  it('stops promptly when SIGTERM arrives while workers are still booting', async () => {
    runtime = startRuntime({ env: { FIXTURE_READY_DELAY_MS_1: '8000', FIXTURE_READY_DELAY_MS_2: '8000' } });
    await runtime.waitForLog((l) => l.msg === 'starting', 10_000);
    await sleep(150); // workers forked, some still loading the runtime, some in ready()
    const stopAt = Date.now();
    runtime.signal('SIGTERM');
    expect(await runtime.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopAt).toBeLessThan(3000);
    expect(runtime.count((l) => l.msg === 'killing worker (SIGKILL)')).toBe(0);
  }, 20_000);
});

describe('a runtime that cannot start exits with a named code and does not loop', () => {
  it.each([
    { what: 'the app throws at import', env: { FIXTURE_IMPORT_THROWS: '1' }, code: RuntimeExit.appLoadFailed, error: 'fixture: import fails on purpose' },
    { what: 'ready() throws', env: { FIXTURE_READY_THROWS: '1' }, code: RuntimeExit.workerBootFailed, error: 'fixture: ready() fails on purpose' },
    { what: 'the entry file does not exist', env: { SHIPIT_APP: 'nope.mjs' }, code: RuntimeExit.appLoadFailed, error: 'Cannot find module' },
  ])('$what → exit $code', async ({ env, code, error }) => {
    runtime = startRuntime({ env });
    const started = Date.now();
    const exit = await runtime.exited;
    expect(exit).toEqual({ code, signal: null });
    expect(Date.now() - started).toBeLessThan(10_000);
    // The master's view (lines with worker_pid): one failure per slot at most, no respawns.
    expect(runtime.count((l) => l.msg === 'worker failed to boot' && l.worker_pid !== undefined)).toBeLessThanOrEqual(2);
    expect(runtime.count((l) => l.msg === 'respawning worker')).toBe(0);
    const halt = runtime.lines.find((l) => String(l.msg).startsWith('halting: worker failed to boot'));
    expect(String(halt?.msg)).toContain(error);
  }, 20_000);

  it('port already in use → exit 3', async () => {
    const blocker = startRuntime({ env: { WORKERS: '1' } });
    try {
      const port = await blocker.port();
      runtime = startRuntime({ env: { PORT: String(port) } });
      await runtime.exited;
      expect(runtime.child.exitCode).toBe(RuntimeExit.workerBootFailed);
      expect(runtime.lines.find((l) => l.msg === 'worker failed to boot' && l.worker_pid !== undefined)?.error).toMatch(/EADDRINUSE/);
    } finally {
      await blocker.stop();
    }
  }, 20_000);

  it('SHIPIT_KEEPALIVE_REQUESTS=lots → exit 2 with the variable named', async () => {
    runtime = startRuntime({ env: { SHIPIT_KEEPALIVE_REQUESTS: 'lots' } });
    expect(await runtime.exited).toEqual({ code: RuntimeExit.config, signal: null });
    expect(runtime.lines).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'invalid environment: SHIPIT_KEEPALIVE_REQUESTS: "lots" is not a whole number of requests (e.g. 1000; 0 = keep a connection open whatever its request count)',
      }),
    ]);
  }, 20_000);

  it('WORKERS=many → exit 2 with the variable named, before forking anything', async () => {
    runtime = startRuntime({ env: { WORKERS: 'many' } });
    expect(await runtime.exited).toEqual({ code: RuntimeExit.config, signal: null });
    expect(runtime.lines).toEqual([
      expect.objectContaining({ level: 'error', msg: 'invalid environment: WORKERS: "many" is not valid: use "auto" (one per CPU) or a whole number from 1 to 1024' }),
    ]);
  }, 20_000);
});

describe('keep-alive recycling (SHIPIT_KEEPALIVE_REQUESTS)', () => {
  it('closes a keep-alive connection after its Nth response in the real workers, and logs the setting', async () => {
    runtime = startRuntime({ env: { SHIPIT_KEEPALIVE_REQUESTS: '2' } });
    const master = await runtime.waitForLog((l) => l.msg === 'shipit runtime master', 10_000);
    expect(master.keepalive_requests).toBe(2);
    const port = await runtime.port();
    const c = await openRaw(port);
    try {
      c.send('/');
      expect(await c.next()).toMatchObject({ status: 200, headers: { connection: 'keep-alive' } });
      c.send('/');
      expect(await c.next()).toMatchObject({ status: 200, headers: { connection: 'close' } });
      await c.serverEnded();
    } finally {
      c.destroy();
    }
  }, 20_000);

  it('does not recycle connections when unset (the default is 0)', async () => {
    runtime = startRuntime();
    expect((await runtime.waitForLog((l) => l.msg === 'shipit runtime master', 10_000)).keepalive_requests).toBe(0);
  }, 20_000);
});
