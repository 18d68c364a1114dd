/**
 * Opening the one SSH connection per host, as an OpenSSH user expects: strict host key checking against
 * known_hosts (accept-new only when asked), agent then key files, keepalives, a bounded connect time, and
 * jump hosts (ProxyJump): each hop is a full SSH connection of its own, host key checked like the target, and
 * the next one runs over a direct-tcpip channel it opens (what `ssh -J` does with `-W`).
 */
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AuthenticationType, Client as Ssh2Client, ConnectConfig } from 'ssh2';
import type { HostTarget, SshConfig } from '../config/types.js';
import { ShipitError } from '../lib/errors.js';
import { aborted, authFailed, connectFailed, type Ssh2Error } from './connect-errors.js';
import { forwardFailed, throughJump, viaJump } from './jump-errors.js';
import { decideHostKey, hostKeyAlgorithms } from './host-key.js';
import { hostKeyError, noUsableHostKeyError, type HostKeyContext } from './host-key-errors.js';
import { planIdentities, type IdentityOptions } from './identities.js';
import { fingerprint, keyTypeOf } from './key-blob.js';
import { formatEntry, hostString, lookup } from './known-hosts.js';
import { appendKnownHost, readKnownHostsFile } from './known-hosts-file.js';
import { SshTransport } from './ssh-transport.js';
import type { ExecResult } from './transport.js';

// ssh2 is CommonJS: `import { Client } from 'ssh2'` passes under jest but fails in real Node ESM.
const { Client } = ssh2;

/** Unanswered keepalives before the connection counts as dead (OpenSSH's ServerAliveCountMax default). */
const KEEPALIVE_COUNT_MAX = 3;

export interface HostKeyAcceptedInfo {
  /** Display name of the target. */
  host: string;
  /** What was recorded (hashed) in the file: `host` or `[host]:port`. */
  hostString: string;
  keyType: string;
  fingerprint: string;
  knownHostsFile: string;
}

export interface ConnectOptions {
  /** Like `StrictHostKeyChecking accept-new`: record the key of a host known_hosts has no key for. */
  acceptNewHostKeys?: boolean;
  signal?: AbortSignal;
  onHostKeyAccepted?: (info: HostKeyAcceptedInfo) => void;
  /** Jump hosts in connection order (ProxyJump a,b: a first); the target is reached from the last one. */
  jumps?: readonly JumpHop[];
  /** HostKeyAlias: the name to look the target's key up under in known_hosts, instead of host:port. */
  hostKeyAlias?: string;
}

/** One jump host: where it is, how to authenticate there (its own identities), and its HostKeyAlias. */
export interface JumpHop {
  target: HostTarget;
  ssh: EndpointSshConfig;
  hostKeyAlias?: string;
}

/** ssh settings for one connection: deploy.config's, plus what the SSH config says about that host's keys. */
export type EndpointSshConfig = SshConfig & IdentityOptions;

/** An authenticated ssh2 client whose host key was verified. */
interface OpenedClient {
  client: Ssh2Client;
  hostKey: Buffer;
}

interface OpenOptions {
  acceptNewHostKeys: boolean;
  signal: AbortSignal | undefined;
  onHostKeyAccepted: ConnectOptions['onHostKeyAccepted'];
  hostKeyAlias: string | undefined;
  /** The stream to speak SSH over (a channel of the previous hop) instead of a TCP connection. */
  sock: Duplex | undefined;
}

export async function connectHost(target: HostTarget, ssh: EndpointSshConfig, options: ConnectOptions = {}): Promise<SshTransport> {
  const jumps = options.jumps ?? [];
  const opened: Array<{ name: string; client: Ssh2Client; target: HostTarget }> = [];
  const base = { acceptNewHostKeys: options.acceptNewHostKeys ?? false, signal: options.signal, onHostKeyAccepted: options.onHostKeyAccepted };
  const closeJumps = () => opened.reverse().forEach((j) => j.client.destroy());
  let sock: Duplex | undefined;
  try {
    for (const [i, hop] of jumps.entries()) {
      const next = jumps[i + 1]?.target ?? target;
      const { client } = await openClient(hop.target, hop.ssh, { ...base, hostKeyAlias: hop.hostKeyAlias, sock }).catch((error: unknown) => {
        throw viaJump(error, hop.target, target);
      });
      opened.push({ name: hop.target.name, client, target: hop.target });
      sock = await forwardTo(client, hop.target, next, target, ssh.connectTimeout, options.signal);
    }
  } catch (error) {
    closeJumps();
    throw error;
  }

  let end: OpenedClient;
  try {
    end = await openClient(target, ssh, { ...base, hostKeyAlias: options.hostKeyAlias, sock });
  } catch (error) {
    closeJumps();
    throw opened.length > 0 ? throughJump(error, opened[opened.length - 1]!.target, target) : error;
  }
  const { client, hostKey } = end;
  const transport = new SshTransport(client, target, ssh, { keyType: keyTypeOf(hostKey) ?? 'unknown', fingerprint: fingerprint(hostKey) }, opened);
  transport.checkCommandsWith((result) => firstCommandFailure(result, target), { timeoutMs: ssh.connectTimeout, ...(options.signal ? { signal: options.signal } : {}) });
  return transport;
}

/**
 * A direct-tcpip channel from `via` to `next` (sshd resolves and connects, like `ssh -W host:port`): the byte
 * stream the next SSH connection runs over. sshd answers quickly either way; the timeout covers a jump host
 * that stops answering.
 */
function forwardTo(
  via: Ssh2Client,
  jump: HostTarget,
  next: HostTarget,
  target: HostTarget,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (outcome: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const timer = setTimeout(() => finish(() => reject(forwardFailed(jump, next, target, `no answer within ${timeoutMs} ms`))), timeoutMs);
    const onAbort = () => finish(() => reject(aborted(target, `connecting through ${jump.name}`)));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      via.forwardOut('127.0.0.1', 0, next.host, next.port, (error, channel) => {
        if (error) return finish(() => reject(forwardFailed(jump, next, target, openFailure(error), error)));
        if (done) return void channel.close();
        finish(() => resolve(channel));
      });
    } catch (error) {
      finish(() => reject(forwardFailed(jump, next, target, (error as Error).message, error)));
    }
  });
}

/**
 * sshd's reason for refusing a direct-tcpip channel: the text (e.g. "Connection refused") when it gives one,
 * else the RFC 4254 §5.1 reason code; OpenSSH says only "open failed" when AllowTcpForwarding forbids it.
 */
function openFailure(error: Error & { reason?: number }): string {
  const text = error.message.replace(/^\(SSH\) Channel open failure: /, '');
  if (error.reason === 1) return `administratively prohibited (${text})`;
  return text || 'channel open failure';
}

/** One SSH connection, up to authenticated: host key checked, identities tried in order. */
function openClient(target: HostTarget, ssh: EndpointSshConfig, options: OpenOptions): Promise<OpenedClient> {
  // HostKeyAlias replaces host:port in known_hosts (OpenSSH looks the alias up without a port).
  const keyName = options.hostKeyAlias ?? target.host;
  const keyPort = options.hostKeyAlias === undefined ? target.port : 22;
  const ctx: HostKeyContext = { name: target.name, host: keyName, port: keyPort, knownHostsFile: ssh.knownHostsFile };
  if (options.signal?.aborted) return Promise.reject(aborted(target, 'connecting'));
  const hostKeys = lookup(readKnownHostsFile(ssh.knownHostsFile).entries, keyName, keyPort);
  const algorithms = hostKeyAlgorithms(hostKeys);
  if (algorithms?.length === 0) {
    return Promise.reject(noUsableHostKeyError(ctx, hostKeys.keys, 'shipit (ssh2) cannot verify keys of these types'));
  }
  const plan = planIdentities(ssh);
  const queue = [...plan.identities];
  const tried: string[] = [];

  const client = new Client();
  // Set by the host key check; the handshake error ssh2 reports afterwards is only "Host denied".
  let refusal: ShipitError | null = null;
  // The first verified key. ssh2 asks again at every re-key: the host must keep presenting this one.
  let verifiedKey: Buffer | null = null;
  let acceptedNew = false;

  const hostVerifier = (key: Buffer): boolean => {
    if (verifiedKey) return verifiedKey.equals(key);
    const verdict = decideHostKey(hostKeys, key);
    if (verdict.status === 'known' || (verdict.status === 'unknown' && options.acceptNewHostKeys)) {
      verifiedKey = key;
      acceptedNew = verdict.status === 'unknown';
      return true;
    }
    refusal = hostKeyError(verdict, key, ctx);
    return false;
  };

  // One connection, several attempts: ssh2 calls this after each failure (OpenSSH's IdentitiesOnly order).
  const authHandler = (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, next: (m: never) => void) => {
    const identity = methodsLeft === null || methodsLeft.includes('publickey') ? queue.shift() : undefined;
    if (!identity) return next(false as never);
    tried.push(identity.label);
    next(identity.method(target.user) as never);
  };

  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.user,
    readyTimeout: ssh.connectTimeout,
    keepaliveInterval: ssh.keepaliveInterval,
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    hostVerifier,
    authHandler: authHandler as ConnectConfig['authHandler'],
    ...(algorithms ? { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } } : {}),
  };

  return new Promise<OpenedClient>((resolve, reject) => {
    let settled = false;
    const fail = (error: ShipitError) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      client.destroy();
      reject(error);
    };
    const onAbort = () => fail(aborted(target, 'connecting'));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    // 'handshake' comes after ssh2 checked the server's signature with the key: only then is a new key
    // proven to belong to whoever answered, and worth recording (OpenSSH records it at the same point).
    client.on('handshake', () => {
      if (!acceptedNew || !verifiedKey) return;
      acceptedNew = false;
      try {
        recordNewHostKey({ ...target, name: target.name, host: keyName, port: keyPort }, ssh.knownHostsFile, verifiedKey, options.onHostKeyAccepted);
      } catch (error) {
        fail(
          new ShipitError('HOST_KEY_UNKNOWN', `Cannot record the host key of ${target.name} in ${ssh.knownHostsFile}: ${(error as Error).message}`, {
            host: target.name,
            cause: error,
            hint: `Make ${ssh.knownHostsFile} writable, or add the key yourself (ssh-keyscan -p ${target.port} ${target.host}) after verifying it.`,
          }),
        );
      }
    });
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ client, hostKey: verifiedKey! });
    });
    client.on('error', (error: Ssh2Error) => {
      if (settled) return; // after 'ready', SshTransport (or the jump chain) owns errors
      if (refusal) return fail(refusal);
      if (error.level === 'client-authentication') return fail(authFailed(target, tried, plan.skipped, plan));
      if (error.level === 'handshake' && algorithms && /no matching host key format/.test(error.message)) {
        return fail(noUsableHostKeyError(ctx, hostKeys.keys, 'the host offers none of them'));
      }
      fail(connectFailed(target, error, ssh.connectTimeout));
    });
    client.on('close', () => fail(refusal ?? connectFailed(target, new Error('connection closed during setup'), ssh.connectTimeout)));
    try {
      client.connect(options.sock ? { ...config, sock: options.sock } : config);
      // Many small request/response exchanges (commands, probes): without TCP_NODELAY, Nagle's algorithm and
      // the peer's delayed ACK add ~40 ms to each. OpenSSH sets it for the same reason. (Through a jump host
      // there is no socket of ours: the jump's own connection has it, and its sshd sets it for the forward.)
      if (!options.sock) client.setNoDelay(true);
    } catch (error) {
      fail(connectFailed(target, error as Error, ssh.connectTimeout));
    }
  });
}

function recordNewHostKey(
  target: HostTarget,
  file: string,
  key: Buffer,
  onAccepted: ConnectOptions['onHostKeyAccepted'],
): void {
  appendKnownHost(file, formatEntry(target.host, target.port, key, { hashed: true }));
  onAccepted?.({
    host: target.name,
    hostString: hostString(target.host, target.port),
    keyType: keyTypeOf(key) ?? 'unknown',
    fingerprint: fingerprint(key),
    knownHostsFile: file,
  });
}

/**
 * What `true` through the command wrapper (SshTransport.checkCommandsWith, run when a command fails first) says
 * about the host: it proves commands can run there (a POSIX sh and GNU `timeout`), and when they cannot, this
 * error, naming the host and what to check, replaces whatever the commands themselves then fail with.
 */
function firstCommandFailure(result: ExecResult, target: HostTarget): ShipitError | null {
  if (result.code === 0) return null;
  return new ShipitError('CONNECT_FAILED', `Cannot run commands on ${target.name} as ${target.user}: ${result.stderr.trim() || `exit status ${result.code}`}`, {
    host: target.name,
    hint: "shipit runs commands through the user's login shell with `sh` and GNU coreutils `timeout`: check that both exist and that the account's shell is not nologin.",
  });
}
