/**
 * Talking to systemd: sd_notify(3). A message is one AF_UNIX SOCK_DGRAM datagram sent to $NOTIFY_SOCKET (a
 * leading `@` means the abstract namespace) holding newline-separated KEY=VALUE pairs. Node has no AF_UNIX
 * datagram sockets in core, so there are three paths, tried in this order and logged once at start:
 *
 * 1. `sd-notify` (systemd's own Node binding around libsystemd's sd_notify): synchronous and exact, sent with our
 *    pid as the sender, so the unit's default NotifyAccess=main accepts it. It is a native addon built for ONE
 *    Node ABI: it must be built (npm install, node-gyp + libsystemd-dev) on a host with the same Node major as the
 *    one that runs it; an addon built elsewhere fails to load and we fall through. Looked up from the app
 *    directory (its node_modules), or from the path in SHIPIT_SD_NOTIFY.
 * 2. the `systemd-notify` binary, spawned per message, one at a time so messages keep their order. The sender is
 *    that child, not us, so the unit needs NotifyAccess=all. Since systemd 246 it waits (BARRIER=1) until the
 *    manager has processed the message, which is what makes the child's message reliable; ~65 ms per call.
 * 3. nothing: without NOTIFY_SOCKET we were not started as Type=notify and there is nobody to tell.
 */
import { spawn as spawnChild } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type NotifyFields = Record<string, string>;
export type NotifierKind = 'sd-notify' | 'systemd-notify' | 'none';

export interface Notifier {
  readonly kind: NotifierKind;
  /** Queue one message; never throws, never blocks the loop for long. */
  notify(fields: NotifyFields): void;
  /** Resolves once queued messages were handed over (or after `timeoutMs`): call before exiting. */
  flush(timeoutMs: number): Promise<void>;
}

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface NotifierOptions {
  env: Record<string, string | undefined>;
  /** Where `sd-notify` is resolved from (the release). */
  appDir: string;
  log: Log;
  spawn?: typeof spawnChild;
}

/** The datagram body. Values lose newlines: a newline would start a new, unintended KEY=VALUE pair. */
export function formatNotifyMessage(fields: NotifyFields): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${value.replace(/[\r\n]+/g, ' ')}`)
    .join('\n');
}

/** argv for systemd-notify(1): `--ready` and `--status=` where it has options, KEY=VALUE for the rest. */
export function systemdNotifyArgs(fields: NotifyFields): string[] {
  const args: string[] = [];
  for (const [key, raw] of Object.entries(fields)) {
    const value = raw.replace(/[\r\n]+/g, ' ');
    if (key === 'READY' && value === '1') args.push('--ready');
    else if (key === 'STATUS') args.push(`--status=${value}`);
    else args.push(`${key}=${value}`);
  }
  return args;
}

/**
 * sd_watchdog_enabled(3): WATCHDOG_USEC is the interval systemd expects pings within; WATCHDOG_PID, when set,
 * names the process it applies to. systemd's advice is to ping at half the interval.
 */
export function watchdogPingIntervalMs(env: Record<string, string | undefined>, pid: number): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || !/^[0-9]+$/.test(usec) || Number(usec) === 0) return undefined;
  const forPid = env.WATCHDOG_PID;
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return undefined;
  return Number(usec) / 2 / 1000;
}

export function createNotifier(options: NotifierOptions): Notifier {
  const { env, log } = options;
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket === '') {
    log('info', 'sd_notify: NOTIFY_SOCKET is unset (not a Type=notify service); readiness is not reported');
    return { kind: 'none', notify: () => undefined, flush: async () => undefined };
  }
  const binding = loadSdNotify(options.appDir, env.SHIPIT_SD_NOTIFY);
  if ('send' in binding) {
    // libsystemd reads NOTIFY_SOCKET with getenv(): the process environment, which is `env` in production.
    log('info', 'sd_notify: using the sd-notify binding', { from: binding.from });
    return {
      kind: 'sd-notify',
      notify(fields) {
        try {
          binding.send(formatNotifyMessage(fields));
        } catch (error) {
          log('warn', 'sd_notify failed', { error: String(error) });
        }
      },
      flush: async () => undefined, // sd_notify() is synchronous
    };
  }
  const bin = findExecutable('systemd-notify', env.PATH);
  if (bin === undefined) {
    log('warn', 'sd_notify: neither the sd-notify binding nor systemd-notify is available; systemd will not hear READY=1', {
      sd_notify_error: binding.error,
    });
    return { kind: 'none', notify: () => undefined, flush: async () => undefined };
  }
  log('info', 'sd_notify: using systemd-notify (the unit needs NotifyAccess=all)', { bin, sd_notify_error: binding.error });
  return systemdNotifyNotifier(bin, options);
}

function systemdNotifyNotifier(bin: string, options: NotifierOptions): Notifier {
  const spawn = options.spawn ?? spawnChild;
  let chain: Promise<void> = Promise.resolve();
  const runOnce = (args: string[]): Promise<void> =>
    new Promise((resolve) => {
      let stderr = '';
      const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], env: options.env as NodeJS.ProcessEnv });
      // I/O-edge guard, not runtime logic: systemd-notify's own barrier gives up after 5 s; this only catches a
      // wedged child.
      const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
      child.on('error', (error) => {
        clearTimeout(guard);
        options.log('warn', 'systemd-notify could not run', { error: error.message });
        resolve();
      });
      child.on('close', (code) => {
        clearTimeout(guard);
        if (code !== 0) options.log('warn', 'systemd-notify failed', { code, args, stderr: stderr.trim() });
        resolve();
      });
    });
  return {
    kind: 'systemd-notify',
    notify(fields) {
      const args = systemdNotifyArgs(fields);
      chain = chain.then(() => runOnce(args));
    },
    flush: (timeoutMs) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        void chain.then(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

function loadSdNotify(appDir: string, explicitPath: string | undefined): { send: (message: string) => void; from: string } | { error: string } {
  try {
    // createRequire wants a file name; resolution then walks appDir/node_modules, its parents, and so on.
    const requireFromApp = createRequire(path.join(path.resolve(appDir), 'noop.js'));
    const from = explicitPath === undefined ? requireFromApp.resolve('sd-notify') : requireFromApp.resolve(path.resolve(appDir, explicitPath));
    const mod = requireFromApp(from) as { sendState?: unknown };
    if (typeof mod.sendState !== 'function') return { error: `${from} has no sendState(): not the sd-notify package?` };
    const sendState = mod.sendState as (message: string) => void;
    return { send: (message) => sendState(message), from };
  } catch (error) {
    // Typically MODULE_NOT_FOUND, or "compiled against a different Node.js version" for a foreign-built addon.
    const message = error instanceof Error ? error.message : String(error);
    return { error: message.split('\nRequire stack:')[0]!.replace(/\s*\n\s*/g, ' ').slice(0, 400) };
  }
}

function findExecutable(name: string, pathEnv: string | undefined): string | undefined {
  const dirs = (pathEnv ?? '').split(':').filter(Boolean).concat(['/usr/bin', '/bin']);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
