/**
 * One remote command on one session channel: stdin in (with backpressure), stdout/stderr/exit status out,
 * and a kill on the host when it times out or is aborted (see remote-process.ts for why and how).
 */
import type { Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { ShipitError } from '../lib/errors.js';
import type { ExecOptions, ExecResult } from './transport.js';
import type { Connection } from './connection.js';
import { Cancellation } from './cancellation.js';
import { aborted, connectionLost } from './connect-errors.js';
import { KILL_GRACE_MS, exitCodeOf, killCommand, takePidLine, wrapCommand } from './remote-process.js';

/** How long after a kill was requested we stop waiting for the channel to close, whatever happens. */
const SETTLE_AFTER_KILL_MS = KILL_GRACE_MS + 3_000;

function short(command: string): string {
  const oneLine = command.replace(/\s+/g, ' ');
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}

export async function runCommand(conn: Connection, command: string, options: ExecOptions): Promise<ExecResult> {
  const { target } = conn;
  const timedOut = (timeoutMs: number | undefined, what: string) => () =>
    new ShipitError('TIMEOUT', `Command timed out after ${timeoutMs} ms on ${target.name}: ${short(what)}`, {
      host: target.name,
      hint: 'The command was killed on the host. If it legitimately needs longer, raise ssh.commandTimeout or the step timeout.',
    });
  const interrupted = (what: string) => () => aborted(target, `\`${short(what)}\``);
  const { held } = options;
  const cancel = held
    ? new Cancellation(undefined, undefined, timedOut(undefined, command), interrupted(command))
    : new Cancellation(options.timeoutMs, options.signal, timedOut(options.timeoutMs, command), interrupted(command));
  // A held command's timeout and signal are its work's: they begin when the caller starts it.
  held?.start.then(
    (start) => start && cancel.arm(start.timeoutMs, start.signal, timedOut(start.timeoutMs, start.command), interrupted(start.command)),
    () => {},
  );
  const failure = conn.failure();
  if (failure) cancel.fail(failure);
  let release: (() => void) | undefined;
  try {
    release = await conn.sessions.acquire(cancel.abortSignal);
    const opening = conn.openExec(wrapCommand(command, held ? held.hostDeadlineMs : options.timeoutMs));
    const channel = await Promise.race([opening, new Promise<never>((_, reject) => cancel.onCancel(reject))]).catch(
      (error: unknown) => {
        // Cancelled while sshd was still opening the channel: settle now, and kill the command if it starts.
        const slot = release;
        release = undefined;
        void opening.then((late) => drive(conn, late, undefined, cancel)).catch(() => {}).finally(() => slot?.());
        throw error;
      },
    );
    return await drive(conn, channel, options.stdin, cancel);
  } catch (error) {
    // A stream that never reached a channel must not stay open (a tar producer would wait forever).
    if (isStream(options.stdin) && !options.stdin.destroyed && !options.stdin.readableEnded) options.stdin.destroy();
    throw cancel.reason ?? error;
  } finally {
    cancel.dispose();
    release?.();
  }
}

function isStream(stdin: ExecOptions['stdin']): stdin is Readable {
  return stdin !== undefined && typeof stdin !== 'string' && !Buffer.isBuffer(stdin);
}

function drive(conn: Connection, channel: ClientChannel, stdin: ExecOptions['stdin'], cancel: Cancellation): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let head: Buffer | null = Buffer.alloc(0); // until the wrapper's pid line is in
    let pid = 0;
    let killing: Promise<void> | undefined;
    let settled = false;
    let giveUp: NodeJS.Timeout | undefined;

    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(giveUp);
      stopInput();
      outcome();
    };
    const kill = () => {
      if (!killing && pid > 0) killing = runKill(conn, pid);
    };

    const source = isStream(stdin) ? stdin : undefined;
    const stopInput = () => {
      if (!source) return;
      source.unpipe(channel);
      source.destroy();
    };

    cancel.onCancel((reason) => {
      stopInput();
      kill();
      // Normally the killed command's channel closes within the grace period; never wait beyond it.
      giveUp = setTimeout(() => {
        channel.close();
        settle(() => reject(reason));
      }, SETTLE_AFTER_KILL_MS);
    });

    channel.on('data', (chunk: Buffer) => {
      if (head === null) return void stdout.push(chunk);
      head = Buffer.concat([head, chunk]);
      const split = takePidLine(head);
      if (split === null) return;
      head = null;
      pid = split.pid;
      if (split.rest.length > 0) stdout.push(split.rest);
      if (cancel.reason) kill();
    });
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // Writes racing the remote exit end up here; the 'close' below decides the outcome.
    channel.on('error', () => {});
    // The exit status comes with 'close', not from the 'exit' event: 'exit' fires while ssh2 parses the
    // packet, which can be before this code runs (the channel was handed over through a promise), and is then
    // lost; 'close' waits for us to read stdout to its end, and carries what 'exit' had.
    channel.on('close', (code?: number | null, signal?: string) => {
      const exitCode = exitCodeOf(code, signal);
      const reason = cancel.reason;
      if (reason) {
        void (killing ?? Promise.resolve()).then(() => settle(() => reject(reason)));
        return;
      }
      if (exitCode !== null) {
        const done = () =>
          settle(() =>
            resolve({ code: exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }),
          );
        // 'close' follows the end of stdout only; stderr may still be flushing its last chunks.
        return void (channel.stderr.readableEnded ? done() : channel.stderr.once('end', done));
      }
      settle(() => reject(conn.failure() ?? connectionLost(conn.target, 'the command ended without an exit status')));
    });

    feed(conn, channel, stdin, source, cancel);
  });
}

function feed(conn: Connection, channel: ClientChannel, stdin: ExecOptions['stdin'], source: Readable | undefined, cancel: Cancellation) {
  if (stdin === undefined) return void channel.end();
  if (!source) {
    const bytes = Buffer.from(stdin as string | Buffer);
    conn.countSent(bytes.length);
    return void channel.end(bytes);
  }
  // pipe() honours backpressure both ways: ssh2's write() returns false once the remote window is used up,
  // and the source is paused until 'drain'. Count what is handed to the channel.
  source.on('data', (chunk: Buffer | string) => conn.countSent(Buffer.byteLength(chunk)));
  // A broken source (e.g. packing the tar failed) must not leave a half-fed `tar -x` waiting: stop it.
  source.once('error', (error) => cancel.fail(error));
  source.pipe(channel);
}

/** Runs the kill for a process group; resolves when it is done or hopeless (never rejects). */
async function runKill(conn: Connection, pgid: number): Promise<void> {
  if (conn.failure()) return;
  const release = await conn.kills.acquire();
  try {
    const channel = await conn.openExec(killCommand(pgid));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        channel.close();
        resolve();
      }, SETTLE_AFTER_KILL_MS);
      channel.on('error', () => {});
      channel.resume();
      channel.stderr.resume();
      channel.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      channel.end();
    });
  } catch {
    // The connection went away: the host-side `timeout` deadline is the backstop.
  } finally {
    release();
  }
}
