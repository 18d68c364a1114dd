/**
 * Socket activation for real: a parent (python, playing systemd's .socket unit) holds a listening socket and runs
 * the runtime with it as fd 3, LISTEN_FDS=1 and LISTEN_PID set through `sh -c 'LISTEN_PID=$$ exec …'`. It then
 * runs a second runtime on the same socket after the first stops: connections queue in the socket meanwhile.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { get, repo, runtimeCommand, sleep, startLoad, startRuntime, type RuntimeProcess } from './harness.js';

const holder = path.join(repo, 'test/unit/runtime/fixtures/socket_holder.py');
let runtime: RuntimeProcess | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

describe('socket activation (LISTEN_FDS / LISTEN_PID)', () => {
  it('serves on the passed socket, hides the variables from workers, and a restart refuses no connection', async () => {
    runtime = startRuntime({ command: ['python3', holder, '2', ...runtimeCommand()] });
    const rt = runtime;
    const { holder_port: port } = (await rt.waitForLog((l) => l.holder_port !== undefined, 5000)) as { holder_port: number };
    const first = (await rt.waitForLog((l) => l.holder_child !== undefined, 5000)).holder_child as number;
    const master = await rt.waitForLog((l) => l.msg === 'shipit runtime master', 10_000);
    expect(master.listen).toBe('fd 3 (socket activation, inherited by each worker)');
    expect(master.scheduling).toBe('shared'); // workers accept on the socket: the kernel keeps what they leave
    expect(master.pid).toBe(first); // `exec` kept the pid LISTEN_PID names
    await rt.waitForLog((l) => l.msg === 'ready: every worker serves', 15_000);
    expect(rt.count((l) => String(l.msg).startsWith('socket activation ignored'))).toBe(0);

    const env = JSON.parse((await get(port, '/env')).body) as { env: Record<string, string> };
    expect(env.env).toEqual({}); // no LISTEN_FDS / LISTEN_PID in workers

    const load = startLoad(port, { concurrency: 4, keepAlive: false, maxMs: 20_000 });
    await sleep(500);
    process.kill(first, 'SIGTERM'); // like `systemctl restart` with the .socket unit holding the socket
    const second = (await rt.waitForLog((l) => l.holder_run === 1 && l.holder_child !== undefined, 10_000)).holder_child as number;
    await rt.waitForLog((l) => l.msg === 'ready: every worker serves' && l.pid === second, 15_000);
    await sleep(500);
    const result = await load.stop();
    process.stdout.write(`[runtime figures] restart behind a held socket: ${JSON.stringify({ ok: result.ok, failed: result.failed, errors: result.errors.slice(0, 5) })}\n`);
    const pidsByMaster = new Set(rt.lines.filter((l) => l.msg === 'worker serving').map((l) => l.pid));
    expect(pidsByMaster).toEqual(new Set([first, second]));
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(50);
    process.kill(second, 'SIGTERM');
    expect((await rt.exited).code).toBe(0);
  }, 40_000);

  it('every worker SIGKILLed at once: the master stays and replaces them on the same socket; connections made meanwhile are served', async () => {
    // Two workers hitting the same bug together, or the only worker of a 1-CPU host. Through node:cluster the
    // master's fd 3 closed with its last worker and it had to exit 5 for systemd to restart it.
    runtime = startRuntime({ command: ['python3', holder, '1', ...runtimeCommand()] });
    const rt = runtime;
    const { holder_port: port } = (await rt.waitForLog((l) => l.holder_port !== undefined, 5000)) as { holder_port: number };
    const master = (await rt.waitForLog((l) => l.holder_child !== undefined, 5000)).holder_child as number;
    await rt.waitForLog((l) => l.msg === 'ready: every worker serves', 15_000);
    const victims = rt.lines.filter((l) => l.msg === 'worker serving').map((l) => l.worker_pid as number);
    expect(victims).toHaveLength(2);
    const from = rt.lines.length;
    const killedAt = Date.now();
    for (const pid of victims) process.kill(pid, 'SIGKILL');
    // Sent while no worker listens: they wait in the socket's backlog.
    const meanwhile = await Promise.all(Array.from({ length: 8 }, () => get(port, '/', { agent: false, timeoutMs: 10_000 })));
    process.stdout.write(`[runtime figures] every worker SIGKILLed: 8 requests sent at once answered within ${Date.now() - killedAt} ms\n`);
    expect(meanwhile.map((r) => r.status)).toEqual(Array(8).fill(200));
    for (let n = 0; rt.lines.slice(from).filter((l) => l.msg === 'worker serving').length < 2; n++) {
      if (n > 100) throw new Error('the workers were not replaced');
      await sleep(100);
    }
    const replacements = rt.lines.slice(from).filter((l) => l.msg === 'worker serving').map((l) => l.worker_pid);
    expect(replacements.some((pid) => victims.includes(pid as number))).toBe(false);
    const answeredBy = new Set<number>();
    for (let i = 0; i < 20; i++) answeredBy.add((JSON.parse((await get(port, '/', { agent: false })).body) as { pid: number }).pid);
    expect([...answeredBy].every((pid) => replacements.includes(pid))).toBe(true);
    expect(rt.count((l) => String(l.msg).startsWith('halting') || l.holder_exit !== undefined)).toBe(0);
    expect(rt.lines.slice(from).filter((l) => l.msg === 'worker died')).toHaveLength(2);
    process.kill(master, 'SIGTERM');
    expect((await rt.exited).code).toBe(0);
  }, 40_000);

  it('round-robin scheduling: the master exits 5 when its last worker dies (node:cluster closed fd 3), and the next start serves', async () => {
    runtime = startRuntime({ command: ['python3', holder, '2', ...runtimeCommand()], env: { SHIPIT_SCHEDULING: 'round-robin', WORKERS: '1' } });
    const rt = runtime;
    const { holder_port: port } = (await rt.waitForLog((l) => l.holder_port !== undefined, 5000)) as { holder_port: number };
    const master = await rt.waitForLog((l) => l.msg === 'shipit runtime master', 10_000);
    expect(master.listen).toBe('fd 3 (socket activation)');
    const victim = (await rt.waitForLog((l) => l.msg === 'worker serving', 15_000)).worker_pid as number;
    process.kill(victim, 'SIGKILL');
    expect((await rt.waitForLog((l) => l.holder_exit !== undefined, 10_000)).holder_exit).toBe(5);
    expect((await get(port, '/', { agent: false, timeoutMs: 10_000 })).status).toBe(200); // the second run
  }, 40_000);

  it("keeps the socket's accept queue at SHIPIT_BACKLOG: Node's listen() on the inherited fd would set 511", async () => {
    // The holder listens with 1024; the node unit passes the .socket's Backlog= (4096) as SHIPIT_BACKLOG.
    runtime = startRuntime({ command: ['python3', holder, '1', ...runtimeCommand()], env: { SHIPIT_BACKLOG: '3000' } });
    const rt = runtime;
    const { holder_port: port } = (await rt.waitForLog((l) => l.holder_port !== undefined, 5000)) as { holder_port: number };
    await rt.waitForLog((l) => l.msg === 'ready: every worker serves', 15_000);
    // For a listening socket, ss shows the accept queue's length (the backlog) as Send-Q.
    const line = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).trim();
    expect(line.split(/\s+/)[2]).toBe('3000');
  }, 30_000);

  it('ignores LISTEN_FDS meant for another process and listens on PORT', async () => {
    runtime = startRuntime({ env: { LISTEN_FDS: '1', LISTEN_PID: '1' } });
    const warn = await runtime.waitForLog((l) => String(l.msg).startsWith('socket activation ignored'), 10_000);
    expect(warn.msg).toBe('socket activation ignored: LISTEN_PID=1 is not this process (' + String(runtime.child.pid) + '): a wrapper must `exec` the runtime');
    const port = await runtime.port();
    expect((await get(port, '/')).status).toBe(200);
  }, 20_000);
});

