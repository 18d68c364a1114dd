/** Test helper: a python3 listener playing systemd's NOTIFY_SOCKET; collects the datagrams it receives. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'notify_listener.py');

export interface NotifySocket {
  path: string;
  datagrams: string[];
  /** Every KEY=VALUE field, in arrival order, with the index of its datagram. */
  fields(): Array<{ key: string; value: string; datagram: number }>;
  waitFor(predicate: (datagrams: string[]) => boolean, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startNotifySocket(): Promise<NotifySocket> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shipit-notify-'));
  const socketPath = path.join(dir, 'notify.sock');
  const child: ChildProcess = spawn('python3', [script, socketPath, '60'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const datagrams: string[] = [];
  const waiters = new Set<() => void>();
  let listening!: () => void;
  const bound = new Promise<void>((resolve) => (listening = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const parsed = JSON.parse(line) as { listening?: string; datagram?: string };
    if (parsed.listening !== undefined) listening();
    if (parsed.datagram !== undefined) datagrams.push(parsed.datagram);
    for (const wake of waiters) wake();
  });
  await bound;
  return {
    path: socketPath,
    datagrams,
    fields: () =>
      datagrams.flatMap((d, i) =>
        d.split('\n').map((pair) => ({ key: pair.slice(0, pair.indexOf('=')), value: pair.slice(pair.indexOf('=') + 1), datagram: i })),
      ),
    waitFor: (predicate, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!predicate(datagrams)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`notify socket: condition not met within ${timeoutMs} ms; got ${JSON.stringify(datagrams)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: async () => {
      child.stdin?.end();
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
