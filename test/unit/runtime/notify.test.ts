import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { formatNotifyMessage, systemdNotifyArgs, watchdogPingIntervalMs } from '../../../src/runtime/notify.js';
import { startNotifySocket, type NotifySocket } from './notify-socket.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = path.join(repo, 'test/unit/runtime/fixtures/notify-cli.ts');
const tsx = path.join(repo, 'node_modules/tsx/dist/loader.mjs');
const execFileAsync = promisify(execFile);

describe('sd_notify message formats', () => {
  it('joins fields with newlines and strips newlines from values', () => {
    expect(formatNotifyMessage({ READY: '1', STATUS: '2 workers\nserving' })).toBe('READY=1\nSTATUS=2 workers serving');
  });

  it('maps fields to systemd-notify arguments', () => {
    expect(systemdNotifyArgs({ READY: '1', STATUS: '4 workers serving' })).toEqual(['--ready', '--status=4 workers serving']);
    expect(systemdNotifyArgs({ RELOADING: '1', MONOTONIC_USEC: '123', STATUS: 'reloading' })).toEqual([
      'RELOADING=1',
      'MONOTONIC_USEC=123',
      '--status=reloading',
    ]);
    expect(systemdNotifyArgs({ WATCHDOG: '1' })).toEqual(['WATCHDOG=1']);
  });

  it('pings the watchdog at half of WATCHDOG_USEC, only for our pid', () => {
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: '10000000' }, 7)).toBe(5000);
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '7' }, 7)).toBe(5000);
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '8' }, 7)).toBeUndefined();
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: '0' }, 7)).toBeUndefined();
    expect(watchdogPingIntervalMs({}, 7)).toBeUndefined();
  });
});

describe('createNotifier, from a real process, against a real AF_UNIX datagram socket', () => {
  let socket: NotifySocket;
  beforeEach(async () => {
    socket = await startNotifySocket();
  });
  afterEach(async () => {
    await socket.close();
  });

  const messages = [
    { READY: '1', STATUS: '2 workers serving' },
    { RELOADING: '1', MONOTONIC_USEC: '42', STATUS: 'reloading' },
    { WATCHDOG: '1' },
    { STOPPING: '1', STATUS: 'stopping' },
  ];
  /** Datagrams as field maps: systemd-notify puts STATUS= before positional fields, sd-notify keeps our order. */
  const received = (): Array<Record<string, string>> =>
    socket.datagrams.filter((d) => d !== 'BARRIER=1').map((d) => Object.fromEntries(d.split('\n').map((kv) => kv.split(/=(.*)/s).slice(0, 2))));

  async function send(cwd: string, env: Record<string, string | undefined>): Promise<Array<Record<string, unknown>>> {
    const { stdout } = await execFileAsync(process.execPath, ['--import', tsx, cli, ...messages.map((m) => JSON.stringify(m))], {
      cwd,
      env: { PATH: process.env.PATH, NOTIFY_SOCKET: socket.path, ...env },
      timeout: 15_000,
    });
    return stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('is a no-op without NOTIFY_SOCKET', async () => {
    const out = await send(repo, { NOTIFY_SOCKET: undefined });
    expect(out.at(-1)).toEqual({ kind: 'none' });
    expect(socket.datagrams).toEqual([]);
  });

  it('sends through the sd-notify binding when it resolves from the app directory', async () => {
    const out = await send(repo, {});
    expect(out[0]).toMatchObject({ level: 'info', msg: 'sd_notify: using the sd-notify binding' });
    expect(out.at(-1)).toEqual({ kind: 'sd-notify' });
    await socket.waitFor((d) => d.length === 4, 5000);
    expect(socket.datagrams).toEqual(['READY=1\nSTATUS=2 workers serving', 'RELOADING=1\nMONOTONIC_USEC=42\nSTATUS=reloading', 'WATCHDOG=1', 'STOPPING=1\nSTATUS=stopping']);
  }, 20_000);

  it('loads sd-notify from SHIPIT_SD_NOTIFY when the app directory has none', async () => {
    const out = await send(os.tmpdir(), { SHIPIT_SD_NOTIFY: path.join(repo, 'node_modules/sd-notify') });
    expect(out.at(-1)).toEqual({ kind: 'sd-notify' });
    await socket.waitFor((d) => d.length === 4, 5000);
    expect(received()).toEqual(messages);
  }, 20_000);

  it('falls back to systemd-notify, keeping the order, when sd-notify cannot be loaded', async () => {
    const out = await send(os.tmpdir(), {});
    expect(out[0]).toMatchObject({ level: 'info', msg: 'sd_notify: using systemd-notify (the unit needs NotifyAccess=all)' });
    expect(String(out[0]!.sd_notify_error)).toContain("Cannot find module 'sd-notify'");
    expect(out.at(-1)).toEqual({ kind: 'systemd-notify' });
    expect(out.filter((line) => line.level === 'warn')).toEqual([]); // every systemd-notify call exited 0
    // systemd-notify follows each message with BARRIER=1: it waits until the manager processed it (systemd >= 246).
    expect(socket.datagrams.filter((d) => d === 'BARRIER=1')).toHaveLength(4);
    expect(received()).toEqual(messages);
  }, 20_000);
});
