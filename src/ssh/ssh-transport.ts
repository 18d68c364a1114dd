/**
 * Transport over one authenticated ssh2 connection. Everything for a host (commands, uploads, probes) is
 * multiplexed on it. When it breaks, every operation in flight and every later one rejects with one
 * CONNECT_FAILED naming the host: ssh2 closes all channels when the socket closes, and keepalives turn a
 * silently dead peer into a closed socket (after keepaliveInterval × 3), so nothing waits forever.
 *
 * Through jump hosts, the transport owns their connections too: it closes them after its own, and when one of
 * them breaks, the target's connection (a channel inside it) goes with it, reported as lost via that jump.
 */
import type { Client, ClientChannel } from 'ssh2';
import type { HostTarget, SshConfig } from '../config/types.js';
import type { ShipitError } from '../lib/errors.js';
import type { ExecOptions, ExecResult, HttpResponse, Transport } from './transport.js';
import type { Connection } from './connection.js';
import { connectionLost, sessionRefused, type Ssh2Error } from './connect-errors.js';
import { runCommand } from './exec-channel.js';
import { Limiter } from './limiter.js';
import { runProbe } from './probe-channel.js';

/** OpenSSH's MaxSessions defaults to 10: 8 for commands leaves 2 for kills. */
export const MAX_CONCURRENT_COMMANDS = 8;
const MAX_CONCURRENT_KILLS = 2;
/** 10 ms doubling: about 2.5 s of retries in all. */
const SESSION_OPEN_RETRIES = 8;

export interface HostKeyInfo {
  keyType: string;
  fingerprint: string;
}

/** A jump host's connection carrying this one (ProxyJump), in connection order. */
export interface JumpConnection {
  name: string;
  client: Client;
}

export class SshTransport implements Transport {
  readonly name: string;
  private sent = 0;
  private lost: ShipitError | null = null;
  private readonly lostListeners = new Set<(error: ShipitError) => void>();
  /** How a failed command is explained (checkCommandsWith), and its one run of `true`, once started. */
  private commandCheck: { check: (result: ExecResult) => ShipitError | null; options: { timeoutMs: number; signal?: AbortSignal } } | null = null;
  private diagnosis: Promise<ShipitError | null> | null = null;
  /** A command exited 0 here: commands can run, and a session has started (TCP_NODELAY, see checkCommandsWith). */
  private proven = false;
  private readonly closed: Promise<void>;
  private readonly connection: Connection;

  constructor(
    private readonly client: Client,
    readonly target: HostTarget,
    private readonly ssh: Pick<SshConfig, 'commandTimeout'>,
    /** The host key the connection was verified with. */
    readonly hostKey: HostKeyInfo,
    private readonly jumps: readonly JumpConnection[] = [],
  ) {
    this.name = target.name;
    client.on('error', (error: Ssh2Error) => {
      this.markLost(() => connectionLost(target, error.level === 'client-timeout' ? 'no answer to keepalives' : error.message, error));
    });
    for (const jump of jumps) {
      const lostVia = (reason: string, cause?: unknown) => {
        this.markLost(() => connectionLost(target, `jump host ${jump.name}: ${reason}`, cause));
        // The channel we run over dies with it; do not wait for our own keepalives to notice.
        client.destroy();
      };
      jump.client.on('error', (error: Ssh2Error) => lostVia(error.level === 'client-timeout' ? 'no answer to keepalives' : error.message, error));
      jump.client.once('close', () => lostVia('connection closed'));
    }
    this.closed = new Promise((resolve) =>
      client.once('close', () => {
        this.markLost(() => connectionLost(target, 'connection closed'));
        // Innermost first: each jump connection carries the one after it.
        for (const jump of [...jumps].reverse()) jump.client.end();
        resolve();
      }),
    );
    this.connection = {
      target,
      sessions: new Limiter(MAX_CONCURRENT_COMMANDS),
      kills: new Limiter(MAX_CONCURRENT_KILLS),
      openExec: (command) => this.openSession(command),
      openForward: (port) => this.open((cb) => client.forwardOut('127.0.0.1', 0, '127.0.0.1', port, cb), (error) => error),
      failure: () => this.lost,
      countSent: (bytes) => void (this.sent += bytes),
    };
  }

  get bytesSent(): number {
    return this.sent;
  }

  failure(): ShipitError | null {
    return this.lost;
  }

  onLost(listener: (error: ShipitError) => void): () => void {
    this.lostListeners.add(listener);
    return () => void this.lostListeners.delete(listener);
  }

  /** The first loss is the reason every later command fails; the rollout hears of it at once (onLost). */
  private markLost(make: () => ShipitError): void {
    if (this.lost) return;
    const lost = (this.lost = make());
    for (const listener of [...this.lostListeners]) listener(lost);
  }

  /**
   * How to tell a host that cannot run commands (no POSIX sh or GNU timeout, a nologin shell) from a command
   * that failed: `true` through the command wrapper, run once and only when it is needed, i.e. when a command
   * fails (or a probe comes) before any command on this connection exited 0. `check` turns its result into the
   * error that then explains every command that fails. Until 2026-12-04 it ran on every connection beside the
   * first commands: an SSH channel and 4 processes (the login shell, sh, timeout, sh) on every host of every
   * deploy, ~15 ms of each host's CPU, which 12 lab hosts on 2 cores queue for.
   * Probes wait for a command to have run, since OpenSSH sets TCP_NODELAY on its side only once a session has
   * started (ssh_packet_set_interactive): measured on the lab, probes took 45 ms on a fresh connection (Nagle and
   * delayed ACK), 2 ms after one command.
   */
  checkCommandsWith(check: (result: ExecResult) => ShipitError | null, options: { timeoutMs: number; signal?: AbortSignal }): void {
    this.commandCheck = { check, options };
  }

  /** The reason commands cannot run here, or null: from one run of `true` (lost or timed out: null, the commands say). */
  private diagnose(): Promise<ShipitError | null> {
    if (this.proven || !this.commandCheck) return Promise.resolve(null);
    const { check, options } = this.commandCheck;
    this.diagnosis ??= runCommand(this.connection, 'true', options).then(
      (result) => {
        if (result.code === 0) this.proven = true;
        return check(result);
      },
      () => null,
    );
    return this.diagnosis;
  }

  /** Runs `command` under `sh`; the timeout defaults to ssh.commandTimeout (0 = none). */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? (this.ssh.commandTimeout > 0 ? this.ssh.commandTimeout : undefined);
    let result: ExecResult;
    try {
      result = await runCommand(this.connection, command, { ...options, timeoutMs });
    } catch (error) {
      // Timed out, aborted or lost: not what a host that cannot run commands does; only an explanation found already.
      throw (this.diagnosis ? await this.diagnosis : null) ?? error;
    }
    if (result.code === 0) this.proven = true;
    else {
      const failure = await this.diagnose();
      if (failure) throw failure;
    }
    return result;
  }

  async httpGet(port: number, path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<HttpResponse> {
    const failure = await this.diagnose();
    if (failure) throw failure;
    return runProbe(this.connection, port, path, options);
  }

  async close(): Promise<void> {
    this.lost ??= connectionLost(this.target, 'closed by shipit');
    this.client.end();
    // A peer that never answers our disconnect must not hold up the exit.
    const timer = setTimeout(() => {
      this.client.destroy();
      for (const jump of this.jumps) jump.client.destroy();
    }, 2_000);
    await this.closed;
    clearTimeout(timer);
  }

  /**
   * sshd frees a session slot only after it has processed our CHANNEL_CLOSE, in a later turn of its main
   * loop; an open sent right behind that close can still find all MaxSessions slots taken ("open failed").
   * Measured on the lab: 50 commands queued 8 at a time hit it. Such a refusal is transient: retry it with
   * a short backoff, and give up (naming the limit) only if it persists.
   */
  private async openSession(command: string): Promise<ClientChannel> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.open((cb) => this.client.exec(command, cb), (error) => error);
      } catch (error) {
        if (this.lost || attempt >= SESSION_OPEN_RETRIES) throw this.lost ?? sessionRefused(this.target, error as Error);
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
      }
    }
  }

  private open(
    start: (cb: (error: Error | undefined, channel: ClientChannel) => void) => void,
    refused: (error: Error) => Error,
  ): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      if (this.lost) return reject(this.lost);
      try {
        start((error, channel) => (error ? reject(this.lost ?? refused(error)) : resolve(channel)));
      } catch (error) {
        // ssh2 throws "Not connected" synchronously once the socket is gone.
        reject(this.lost ?? connectionLost(this.target, (error as Error).message, error));
      }
    });
  }
}
