/**
 * `systemctl reload` waits for the rolling reload (reload-wait.ts, the node unit's ExecReload=): run against a real
 * runtime publishing its reload report in a RUNTIME_DIRECTORY, as systemd sets one up. The app is reached through
 * a `current` symlink (SHIPIT_APP_DIR), as on the hosts, so a reload can pick up code that cannot boot.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fixtureApp, get, repo, startRuntime, type RuntimeProcess } from './harness.js';

const tsxLoader = path.join(repo, 'node_modules/tsx/dist/loader.mjs');

/** Runs reload-wait as ExecReload= would: MAINPID and RUNTIME_DIRECTORY in the environment. */
function reloadWait(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const entry = process.env.RUNTIME_ENTRY;
  const argv =
    entry !== undefined && entry !== ''
      ? [path.resolve(repo, path.dirname(entry), 'reload-wait.js')]
      : ['--import', tsxLoader, path.join(repo, 'src/runtime/reload-wait.ts')];
  const started = Date.now();
  const child = spawn(process.execPath, argv, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })));
}

let dir: string;
let runtime: RuntimeProcess | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'shipit-reload-'));
  mkdirSync(path.join(dir, 'run'));
  for (const v of ['v1', 'v2']) mkdirSync(path.join(dir, v));
  writeFileSync(path.join(dir, 'v1/app.mjs'), `export * from ${JSON.stringify(fixtureApp)};\nexport { default } from ${JSON.stringify(fixtureApp)};\n`);
  symlinkSync('v1', path.join(dir, 'current'));
});
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function started(): Promise<{ rt: RuntimeProcess; port: number }> {
  const rt = startRuntime({
    env: { SHIPIT_APP: 'app.mjs', SHIPIT_APP_DIR: path.join(dir, 'current'), RUNTIME_DIRECTORY: path.join(dir, 'run'), FIXTURE_READY_DELAY_MS_1: '300' },
  });
  runtime = rt;
  const port = await rt.port();
  await rt.waitForLog((l) => l.msg === 'ready: every worker serves', 15_000, 'READY');
  return { rt, port };
}

/** Points `current` at v2 in one rename, as shipit's activation does. */
function switchTo(source: string): void {
  writeFileSync(path.join(dir, 'v2/app.mjs'), source);
  symlinkSync('v2', path.join(dir, 'current.tmp'));
  renameSync(path.join(dir, 'current.tmp'), path.join(dir, 'current'));
}

describe('ExecReload= waits for the rolling reload (reload-wait)', () => {
  it('returns 0 once every worker was replaced, not when the signal was sent', async () => {
    const { rt } = await started();
    const from = rt.lines.length;
    const result = await reloadWait({ MAINPID: String(rt.child.pid), RUNTIME_DIRECTORY: path.join(dir, 'run') });
    expect(result).toMatchObject({ code: 0, stdout: 'reload: complete, generation 2\n', stderr: '' });
    // Already logged when it returned: both new workers served (worker 1's ready() takes 300 ms).
    expect(rt.lines.slice(from).filter((l) => l.msg === 'worker serving' && l.generation === 2)).toHaveLength(2);
    expect(rt.lines.slice(from).some((l) => l.msg === 'reload complete' && l.generation === 2)).toBe(true);
    expect(result.ms).toBeGreaterThan(300);
    const again = await reloadWait({ MAINPID: String(rt.child.pid), RUNTIME_DIRECTORY: path.join(dir, 'run') });
    expect(again).toMatchObject({ code: 0, stdout: 'reload: complete, generation 3\n' });
  }, 30_000);

  it('fails with the reason when the new code cannot boot, while the old workers keep serving', async () => {
    const { rt, port } = await started();
    switchTo("throw new Error('v2 cannot start');\n");
    const result = await reloadWait({ MAINPID: String(rt.child.pid), RUNTIME_DIRECTORY: path.join(dir, 'run') });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^reload failed: .*v2 cannot start.*; the workers that served keep serving\n$/);
    expect((await get(port, '/')).status).toBe(200);
  }, 30_000);

  it('fails when the process does not answer the signal (not a runtime that reports)', async () => {
    const deaf = spawn(process.execPath, ['-e', "process.on('SIGHUP', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const result = await reloadWait({ MAINPID: String(deaf.pid), RUNTIME_DIRECTORY: path.join(dir, 'run') });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^reload failed: the runtime \\(pid ${deaf.pid}\\) did not take the SIGHUP within 5 s`));
      expect(result.ms).toBeGreaterThanOrEqual(5000);
    } finally {
      deaf.kill('SIGKILL');
    }
  }, 30_000);

  it('fails when the runtime exits during the reload', async () => {
    const { rt } = await started();
    switchTo(`await new Promise((r) => setTimeout(r, 3000));\nexport * from ${JSON.stringify(fixtureApp)};\nexport { default } from ${JSON.stringify(fixtureApp)};\n`);
    const waiting = reloadWait({ MAINPID: String(rt.child.pid), RUNTIME_DIRECTORY: path.join(dir, 'run') });
    await rt.waitForLog((l) => l.msg === 'SIGHUP: rolling reload, one worker at a time', 5000, 'the reload');
    rt.child.kill('SIGKILL');
    const result = await waiting;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^reload failed: the runtime \(pid \d+\) exited before the reload completed\n$/);
  }, 30_000);

  it('sends the signal and returns without waiting where there is no RUNTIME_DIRECTORY', async () => {
    const { rt } = await started();
    const result = await reloadWait({ MAINPID: String(rt.child.pid) });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/SIGHUP sent; not waiting/);
    await rt.waitForLog((l) => l.msg === 'reload complete', 10_000, 'the reload it started');
  }, 30_000);
});
