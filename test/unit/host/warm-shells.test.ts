// SshHost's warm shells on a scripted transport: when one is started, which step runs in it (and what it is
// sent), and when none is. The shell itself runs for real against sshd in test/unit/ssh/transport.test.ts.
import type { Readable } from 'node:stream';
import { SshHost, type CommandInfo } from '../../../src/host/ssh-host.js';
import { WARM_SHELL_DEADLINE_MS } from '../../../src/host/warm-shell.js';
import * as scripts from '../../../src/remote/scripts.js';
import type { ExecOptions, ExecResult, Transport } from '../../../src/ssh/transport.js';
import { releaseSpec } from '../../rollout/fleet.js';

const layout = { deployTo: '/srv/hello', app: 'hello', serviceUser: 'hello' };
const INFO = { token: 'tok-1', by: 'alice@laptop', pid: 1, at: '2026-12-03T00:00:00Z', release: 'r2', message: '' };

interface Call {
  command: string;
  held: boolean;
  /** A held command's step, once it was given one. */
  body?: string;
  /** What a held command ended with when closed unused. */
  unused?: boolean;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Answers lock, activate, record and unlock; a held command answers its step once given one. */
class Scripted implements Transport {
  readonly name = 'web1';
  readonly bytesSent = 0;
  readonly calls: Call[] = [];
  /** Held commands fail at once, as on a lost connection. */
  heldFail = false;

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const call: Call = { command, held: options.held !== undefined };
    this.calls.push(call);
    if (!options.held) return this.answer(command);
    if (this.heldFail) throw new Error('connection lost');
    const start = await options.held.start;
    const input = await readAll(options.stdin as Readable);
    if (start === null) {
      call.unused = true;
      return { code: scripts.WARM_SHELL_UNUSED, stdout: '', stderr: '' };
    }
    const newline = input.indexOf(0x0a);
    const length = Number(input.subarray(0, newline).toString());
    call.body = input.subarray(newline + 1, newline + 1 + length).toString('utf8');
    return this.answer(call.body);
  }

  private answer(text: string): ExecResult {
    if (text.includes('mkdir "$S/lock"')) return ok('acquired\n');
    if (text.includes('systemctl show')) return ok('svc\tActiveState=active\nsvc\tSubState=running\nsvc\tMainPID=42\nsvc\tNRestarts=0\n');
    return ok('');
  }

  async httpGet(): Promise<never> {
    throw new Error('no probes here');
  }
  async close(): Promise<void> {}
}

const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });
const settle = () => new Promise((r) => setTimeout(r, 10));

function host(transport: Scripted, options: { warmShells?: boolean; dryRun?: boolean; commandTimeoutMs?: number } = {}) {
  const commands: CommandInfo[] = [];
  const ssh = new SshHost('web1', transport, {
    layout,
    sshUser: 'deploy',
    port: 8000,
    commandTimeoutMs: options.commandTimeoutMs ?? 60_000,
    onCommand: (info) => commands.push(info),
    warmShells: options.warmShells ?? true,
    ...(options.dryRun ? { dryRun: () => {} } : {}),
  });
  return { ssh, commands };
}

const warmCommand = scripts.privileged(scripts.WARM_SHELL, 'deploy');

describe('SshHost warm shells', () => {
  it('from the lock to the finish one waits for the next step, which runs in it: check, activation, gate round, finish', async () => {
    const transport = new Scripted();
    const { ssh, commands } = host(transport);
    await ssh.lock(INFO);
    await settle();
    expect(transport.calls.map((c) => [c.command === warmCommand, c.held])).toEqual([
      [false, false], // the lock, a command of its own
      [true, true], // waiting for the next step
    ]);
    await ssh.prepare(releaseSpec('r2', {})).catch(() => undefined); // the scripted host answers the check with nothing
    await settle();
    // prepare's first step ran in it.
    expect(transport.calls[1]!.body).toContain('prereq: systemd');
    const state = await ssh.activate('r2', { timeoutMs: 30_000 });
    expect(state).toMatchObject({ active: 'active', mainPid: 42 });
    // A gate round's state, then the finish.
    await ssh.service();
    await ssh.record('r2', 'good', null, { unlock: INFO.token });
    await settle();
    const bodies = transport.calls.filter((c) => c.held).map((c) => c.body);
    expect(bodies.slice(-3)).toEqual([scripts.activateScript(layout, 'r2', 30_000), scripts.serviceScript(layout), expect.stringContaining(scripts.releaseOwnLockScript(layout, INFO.token))]);
    expect(commands.slice(-3).map((c) => [c.label, c.warm ?? false])).toEqual([
      ['activate r2', true],
      ['service state', true],
      ['mark r2 good, unlock', true],
    ]);
    expect(commands[0]).toMatchObject({ label: 'lock' });
    expect(commands[0]!.warm).toBeUndefined();
    // Every command after the lock ran in a warm shell; the finish released the lock, and none was left waiting.
    expect(transport.calls.slice(1).every((c) => c.held && c.body !== undefined)).toBe(true);
    await ssh.close();
  });

  it('leaves none waiting after an unlock, and closes the one waiting when the host is closed', async () => {
    const transport = new Scripted();
    const { ssh } = host(transport);
    await ssh.lock(INFO);
    await ssh.unlock(INFO.token);
    await settle();
    // The unlock ran in the one started after the lock; nothing follows an unlock.
    expect(transport.calls.map((c) => c.held)).toEqual([false, true]);
    expect(transport.calls[1]!.body).toContain('rm -rf "$S/lock"');
    const other = new Scripted();
    const second = host(other).ssh;
    await second.lock(INFO);
    await second.close();
    await settle();
    expect(other.calls.map((c) => [c.held, c.unused ?? false])).toEqual([
      [false, false],
      [true, true],
    ]);
  });

  it('starts none without warmShells, in a dry run, without a command time limit, or when the lock is held elsewhere', async () => {
    for (const options of [{ warmShells: false }, { dryRun: true }, { commandTimeoutMs: 0 }, { commandTimeoutMs: WARM_SHELL_DEADLINE_MS }]) {
      const transport = new Scripted();
      const { ssh } = host(transport, options);
      await ssh.lock(INFO);
      await ssh.activate('r2', { timeoutMs: 30_000 });
      await settle();
      expect(transport.calls.filter((c) => c.held)).toEqual([]);
    }
    const held = new Scripted();
    held.exec = async (command) => {
      held.calls.push({ command, held: false });
      return ok(`held\n${JSON.stringify({ ...INFO, token: 'other' })}\n`);
    };
    const { ssh } = host(held);
    expect(await ssh.lock(INFO)).toMatchObject({ acquired: false });
    await settle();
    expect(held.calls).toHaveLength(1);
  });

  it('runs a step in a command of its own when the warm shell is gone or the step would outlast its deadline', async () => {
    const gone = new Scripted();
    gone.heldFail = true;
    const first = host(gone);
    await first.ssh.lock(INFO);
    await settle();
    await first.ssh.activate('r2', { timeoutMs: 30_000 });
    expect(first.commands.map((c) => c.warm ?? false)).toEqual([false, false]);
    expect(gone.calls.map((c) => c.held)).toEqual([false, true, false, true]);

    const long = new Scripted();
    const second = host(long);
    await second.ssh.lock(INFO);
    await second.ssh.activate('r2', { timeoutMs: WARM_SHELL_DEADLINE_MS });
    await settle();
    expect(second.commands.map((c) => c.warm ?? false)).toEqual([false, false]);
    // The unused one was closed, and another started for the next step.
    expect(long.calls.map((c) => [c.held, c.unused ?? false])).toEqual([
      [false, false],
      [true, true],
      [false, false],
      [true, false],
    ]);
    await second.ssh.close();
  });
});
