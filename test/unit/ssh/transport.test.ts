// SshTransport against a real OpenSSH server on loopback. The "remote" host is this machine, so tests can
// look at /proc to prove that a timed-out or aborted command is really gone.
import { jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { SshConfig } from '../../../src/config/types.js';
import type { ShipitError } from '../../../src/lib/errors.js';
import { connectHost } from '../../../src/ssh/connect.js';
import type { SshTransport } from '../../../src/ssh/ssh-transport.js';
import { WarmShell } from '../../../src/host/warm-shell.js';
import { startRelay, type Relay } from './support/proxy.js';
import { freePort, startSshd, type TestSshd } from './support/sshd.js';

jest.setTimeout(20_000);

let sshd: TestSshd;
let transport: SshTransport;
let counter = 0;

function config(overrides: Partial<SshConfig> = {}): SshConfig {
  const knownHostsFile = join(sshd.dir, 'known_hosts');
  writeFileSync(knownHostsFile, sshd.knownHostsLine(sshd.hostKeys.ed25519) + '\n');
  return {
    knownHostsFile,
    identityFiles: [sshd.clientKey.path],
    passphraseEnv: undefined,
    agent: false,
    connectTimeout: 5_000,
    keepaliveInterval: 5_000,
    commandTimeout: 0,
    ...overrides,
  };
}

function connect(port = sshd.port, overrides: Partial<SshConfig> = {}): Promise<SshTransport> {
  // Through a relay the address differs from the one in known_hosts: record the relay's port too.
  const ssh = config(overrides);
  if (port !== sshd.port) writeFileSync(ssh.knownHostsFile, sshd.knownHostsLine(sshd.hostKeys.ed25519, port) + '\n', { flag: 'a' });
  return connectHost({ name: 'local', host: '127.0.0.1', user: userInfo().username, port }, ssh);
}

async function rejection(promise: Promise<unknown>): Promise<ShipitError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as ShipitError,
  );
}

/** A process counts as gone once it is reaped or a zombie (PID 1 here may not reap orphans). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function pidsFrom(file: string): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    try {
      const pids = readFileSync(file, 'utf8').trim().split('\n').map(Number);
      if (pids.length >= 2) return pids;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no pids in ${file}`);
}

/** A shell and its child, both recording their pids: the command a timeout must kill entirely. */
function sleeper(options: { ignoreTerm?: boolean } = {}): { command: string; pidFile: string } {
  const pidFile = join(sshd.dir, `pids-${++counter}`);
  const trap = options.ignoreTerm ? "trap '' TERM; " : '';
  return { pidFile, command: `${trap}echo $$ > ${pidFile}; sleep 300 & echo $! >> ${pidFile}; wait` };
}

beforeAll(async () => {
  sshd = await startSshd();
  transport = await connect();
}, 30_000);
afterAll(async () => {
  await transport?.close();
  await sshd?.stop();
});

describe('exec', () => {
  it('returns stdout, stderr and the exit code; never rejects for a non-zero exit', async () => {
    expect(await transport.exec('echo out; echo err >&2; exit 3')).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('runs the command under sh, quoting intact, with no trace of the wrapper in the output', async () => {
    const result = await transport.exec(`printf '%s|' "a b" 'c'"'"'d' $0`);
    expect(result).toEqual({ code: 0, stdout: "a b|c'd|sh|", stderr: '' });
  });

  it('reports death by signal as 128+n, like a shell', async () => {
    expect((await transport.exec('kill -KILL $$')).code).toBe(137);
  });

  it('feeds a string or a Buffer to stdin, then EOF', async () => {
    expect((await transport.exec('cat', { stdin: 'héllo' })).stdout).toBe('héllo');
    expect((await transport.exec('wc -c', { stdin: Buffer.alloc(100_000, 1) })).stdout.trim()).toBe('100000');
    expect((await transport.exec('cat')).stdout).toBe('');
  });

  it('streams a Readable to stdin intact and counts the bytes sent', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const before = transport.bytesSent;
    const chunks = Array.from({ length: 128 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    const result = await transport.exec('sha256sum', { stdin: Readable.from(chunks) });
    expect(result.stdout.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
    expect(transport.bytesSent - before).toBe(data.length);
  });

  it('applies backpressure: a slow reader holds the source back', async () => {
    let produced = 0;
    const total = 32 * 1024 * 1024;
    const source = new Readable({
      read() {
        produced += 65536;
        this.push(produced > total ? null : Buffer.alloc(65536));
      },
    });
    const running = transport.exec('sleep 0.6; exec cat >/dev/null', { stdin: source });
    await new Promise((r) => setTimeout(r, 500));
    // The SSH window (2 MiB with OpenSSH) plus stream buffers: far from the whole 32 MiB.
    expect(produced).toBeLessThan(8 * 1024 * 1024);
    expect((await running).code).toBe(0);
  });

  it('stops the source when the remote command exits early', async () => {
    const source = new Readable({ read() { this.push(Buffer.alloc(65536)); } });
    const result = await transport.exec('head -c 10 >/dev/null; exit 2', { stdin: source });
    expect(result.code).toBe(2);
    expect(source.destroyed).toBe(true);
  });

  it('rejects with the stream error when the stdin source fails, and stops the command', async () => {
    const { command, pidFile } = sleeper();
    const source = new Readable({ read() {} });
    const running = transport.exec(`${command} & cat >/dev/null`, { stdin: source });
    const pids = await pidsFrom(pidFile);
    source.destroy(new Error('packing failed'));
    await expect(running).rejects.toThrow('packing failed');
    expect(pids.filter(alive)).toEqual([]);
  });

  it('kills the command on the host when it times out, then rejects with TIMEOUT', async () => {
    const { command, pidFile } = sleeper();
    const started = Date.now();
    const error = await rejection(transport.exec(command, { timeoutMs: 500 }));
    expect(error.code).toBe('TIMEOUT');
    expect(error.host).toBe('local');
    expect(error.message).toContain('after 500 ms on local');
    // Our kill, not the host-side backstop (timeout + 5 s), stopped it.
    expect(Date.now() - started).toBeLessThan(4_000);
    const pids = await pidsFrom(pidFile);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('kills the command on the host when aborted, then rejects with ABORTED', async () => {
    const { command, pidFile } = sleeper();
    const controller = new AbortController();
    const running = transport.exec(command, { signal: controller.signal });
    const pids = await pidsFrom(pidFile);
    controller.abort();
    expect((await rejection(running)).code).toBe('ABORTED');
    expect(pids.filter(alive)).toEqual([]);
  });

  it('KILLs a command that ignores TERM after the grace period', async () => {
    const { command, pidFile } = sleeper({ ignoreTerm: true });
    const started = Date.now();
    expect((await rejection(transport.exec(command, { timeoutMs: 300 }))).code).toBe('TIMEOUT');
    const elapsed = Date.now() - started;
    // Our KILL at timeout + 3 s grace, well before the host-side backstop (TERM at timeout + 5 s, KILL 3 s later).
    expect(elapsed).toBeGreaterThan(3_000);
    expect(elapsed).toBeLessThan(6_000);
    expect((await pidsFrom(pidFile)).filter(alive)).toEqual([]);
  });

  it('rejects at once, running nothing, when already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await rejection(transport.exec('true', { signal: controller.signal }))).code).toBe('ABORTED');
  });

  it('carries many commands at once on one connection (more than sshd MaxSessions) without losing any exit status', async () => {
    // Quick commands can finish before the channel is handed over to the code that reads it.
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => transport.exec(`echo ${i}; echo e${i} >&2; exit ${i % 7}`)));
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => ({ code: i % 7, stdout: `${i}\n`, stderr: `e${i}\n` })));
  });
});

describe('a warm shell (a held command: started before its step, scripts.WARM_SHELL)', () => {
  const user = userInfo().username;
  /** Processes on this machine that belong to a waiting warm shell (its command line holds the script). */
  // This machine's own processes only: the lab's containers (other pid namespaces) show in /proc too, and a deploy
  // running there meanwhile has warm shells of its own that come and go.
  const ownPidNamespace = readlinkSync('/proc/self/ns/pid');
  const waiting = () =>
    readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('IFS= read -r n') && readlinkSync(`/proc/${pid}/ns/pid`) === ownPidNamespace && alive(Number(pid));
        } catch {
          return false;
        }
      });
  /** Until a new warm shell is waiting on the host (a loaded machine may take seconds to start its session). */
  const started = async (before: number) => {
    for (let i = 0; i < 500 && waiting().length <= before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(waiting().length).toBeGreaterThan(before);
  };

  it('runs the step it is given later, as `sh -c` would, with the step\'s stdin after the script', async () => {
    const warm = new WarmShell(transport, user);
    await new Promise((r) => setTimeout(r, 300));
    const result = await warm.run('set -e; printf "%s|" "$(cat)"; echo é; false; echo never', 'the step\'s stdin', { timeoutMs: 5_000, command: 'step' });
    expect(result).toEqual({ code: 1, stdout: "the step's stdin|é\n", stderr: '' });
  });

  it('streams a Readable behind the script intact', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const chunks = Array.from({ length: 64 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    const result = await new WarmShell(transport, user).run('sha256sum', Readable.from(chunks), { timeoutMs: 10_000, command: 'sha256sum' });
    expect(result.stdout.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('counts the timeout from the step\'s start, and kills the step when it runs out', async () => {
    const warm = new WarmShell(transport, user);
    await new Promise((r) => setTimeout(r, 1_200));
    // Timed from the warm-up, 800 ms would have run out before the step began.
    expect(await warm.run('sleep 0.3; echo done', undefined, { timeoutMs: 800, command: 'sleep' })).toMatchObject({ code: 0, stdout: 'done\n' });
    const { command, pidFile } = sleeper();
    const slow = new WarmShell(transport, user);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const error = await rejection(slow.run(command, undefined, { timeoutMs: 500, command: 'the sleeper' }));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain('after 500 ms on local: the sleeper');
    expect(Date.now() - started).toBeLessThan(4_000);
    expect((await pidsFrom(pidFile)).filter(alive)).toEqual([]);
  });

  it("stops the step on its signal, and runs nothing when the signal was aborted before", async () => {
    const { command, pidFile } = sleeper();
    const controller = new AbortController();
    const running = new WarmShell(transport, user).run(command, undefined, { signal: controller.signal, command: 'the sleeper' });
    const pids = await pidsFrom(pidFile);
    controller.abort();
    expect((await rejection(running)).code).toBe('ABORTED');
    expect(pids.filter(alive)).toEqual([]);
    const marker = join(sshd.dir, `never-${++counter}`);
    controller.abort();
    expect((await rejection(new WarmShell(transport, user).run(`touch ${marker}`, undefined, { signal: controller.signal, command: 'touch' }))).code).toBe('ABORTED');
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(marker)).toBe(false);
  });

  it('stops the step\'s stdin source when the step exits early, as a command of its own does', async () => {
    const source = new Readable({ read() { this.push(Buffer.alloc(65536)); } });
    const result = await new WarmShell(transport, user).run('head -c 10 >/dev/null; exit 2', source, { timeoutMs: 5_000, command: 'head' });
    expect(result.code).toBe(2);
    // A tar producer left un-destroyed would keep its child process, and the deployer, waiting.
    for (let i = 0; i < 50 && !source.destroyed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(source.destroyed).toBe(true);
  });

  it('fails the step with the error of a stdin source that breaks', async () => {
    const source = new Readable({ read() {} });
    // The step's own limit is not what is tested: long enough for a loaded machine to start the session.
    const running = new WarmShell(transport, user).run('cat > /dev/null', source, { timeoutMs: 60_000, command: 'cat' });
    source.push(Buffer.alloc(1000));
    setTimeout(() => source.destroy(new Error('packing failed')), 100);
    await expect(running).rejects.toThrow('packing failed');
  });

  it('exits with 75, having run nothing, when closed unused, and when its connection is lost', async () => {
    const before = waiting().length;
    const warm = new WarmShell(transport, user);
    await started(before);
    expect(await warm.close()).toBe(75);
    for (let i = 0; i < 50 && waiting().length > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(waiting().length).toBe(before);
    expect(await warm.close()).toBeNull();
    expect(warm.fits(1)).toBe(false);

    const relay = await startRelay(sshd.port);
    try {
      const lossy = await connect(relay.port);
      const cut = new WarmShell(lossy, user);
      await started(before);
      relay.cut();
      // The host's shell reads EOF and exits; the client learns of the reset when its socket's close is processed
      // (on a busy machine that can come after the host's side is done: CI, 2026-12-03).
      for (let i = 0; i < 100 && (waiting().length > before || cut.fits(1)); i++) await new Promise((r) => setTimeout(r, 20));
      expect(waiting().length).toBe(before);
      expect(cut.fits(1)).toBe(false);
      await lossy.close();
    } finally {
      relay.close();
    }
  });
});

describe('httpGet', () => {
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // A raw TCP server, so each path can misbehave exactly as needed.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      let head = '';
      socket.on('data', (chunk) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        const path = head.split(' ')[1];
        if (path === '/up') socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else if (path === '/echo') socket.end(`HTTP/1.1 200 OK\r\n\r\n${head}`);
        else if (path === '/down') socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\ndraining');
        else if (path === '/chunked') socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
        else if (path === '/keepalive') socket.write('HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n'); // never closes
        else if (path === '/huge') socket.end(`HTTP/1.1 200 OK\r\n\r\n${'x'.repeat(1_000_000)}`);
        // '/hang': accept, read, never answer
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((resolve) => server.close(resolve));
  });

  it('GETs through the SSH connection, HTTP/1.1 with Connection: close', async () => {
    expect(await transport.httpGet(port, '/up', { timeoutMs: 2_000 })).toEqual({ status: 200, body: 'ok' });
    const echo = await transport.httpGet(port, '/echo', { timeoutMs: 2_000 });
    expect(echo.body).toBe(`GET /echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: shipit-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
    expect(await transport.httpGet(port, '/down', { timeoutMs: 2_000 })).toEqual({ status: 503, body: 'draining' });
    expect(await transport.httpGet(port, '/chunked', { timeoutMs: 2_000 })).toEqual({ status: 200, body: 'abcde' });
  });

  it('is done when the response is, even if the server keeps the connection open', async () => {
    const started = Date.now();
    expect(await transport.httpGet(port, '/keepalive', { timeoutMs: 5_000 })).toEqual({ status: 204, body: '' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('caps the body', async () => {
    const response = await transport.httpGet(port, '/huge', { timeoutMs: 5_000 });
    expect(response.body.length).toBe(64 * 1024);
  });

  it('rejects quickly when nothing listens on the port', async () => {
    const closed = await freePort();
    const started = Date.now();
    const error = await rejection(transport.httpGet(closed, '/up', { timeoutMs: 10_000 }));
    expect(error.code).toBe('REMOTE_FAILED');
    expect(error.message).toBe(`Probe http://127.0.0.1:${closed}/up on local failed: connection refused`);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('rejects with TIMEOUT when the app never answers, and ABORTED when aborted', async () => {
    const error = await rejection(transport.httpGet(port, '/hang', { timeoutMs: 300 }));
    expect(error.code).toBe('TIMEOUT');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect((await rejection(transport.httpGet(port, '/hang', { timeoutMs: 5_000, signal: controller.signal }))).code).toBe('ABORTED');
  });

  it('refuses a path that would break the request line', async () => {
    expect((await rejection(transport.httpGet(port, '/x HTTP/1.0\r\nHost: evil', { timeoutMs: 1_000 }))).code).toBe('USAGE');
  });

  it('counts request bytes in bytesSent', async () => {
    const before = transport.bytesSent;
    await transport.httpGet(port, '/up', { timeoutMs: 2_000 });
    expect(transport.bytesSent - before).toBe(`GET /up HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: shipit-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n`.length);
  });

  it('runs alongside many commands on the same connection', async () => {
    const probes = Array.from({ length: 30 }, () => transport.httpGet(port, '/up', { timeoutMs: 5_000 }));
    const commands = Array.from({ length: 20 }, (_, i) => transport.exec(`echo ${i}`));
    expect((await Promise.all(probes)).every((r) => r.status === 200)).toBe(true);
    expect((await Promise.all(commands)).map((r) => r.code)).toEqual(Array(20).fill(0));
  });
});

describe('a lost connection', () => {
  let relay: Relay;
  beforeEach(async () => {
    relay = await startRelay(sshd.port);
  });
  afterEach(() => relay.close());

  it('fails the command in flight at once, naming the host, and every later call too', async () => {
    const lossy = await connect(relay.port);
    const running = lossy.exec('sleep 30', { timeoutMs: 1_000 });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    relay.cut();
    const error = await rejection(running);
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain(`Lost the SSH connection to ${userInfo().username}@local`);
    expect(Date.now() - started).toBeLessThan(500);
    expect((await rejection(lossy.exec('true'))).code).toBe('CONNECT_FAILED');
    expect((await rejection(lossy.httpGet(1, '/', { timeoutMs: 1_000 }))).code).toBe('CONNECT_FAILED');
    await lossy.close();
  });

  it('detects a silently dead host by keepalive instead of hanging', async () => {
    const lossy = await connect(relay.port, { keepaliveInterval: 200 });
    const running = lossy.exec('sleep 30', { timeoutMs: 1_000 });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    relay.blackhole();
    const error = await rejection(running);
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain('no answer to keepalives');
    expect(Date.now() - started).toBeLessThan(2_000);
    await lossy.close();
  });

  it('leaves no command behind: the host enforces the timeout itself when nobody can send the kill', async () => {
    const lossy = await connect(relay.port);
    const { command, pidFile } = sleeper();
    const running = lossy.exec(command, { timeoutMs: 500 });
    const pids = await pidsFrom(pidFile);
    relay.cut();
    expect((await rejection(running)).code).toBe('CONNECT_FAILED');
    expect(pids.filter(alive)).toHaveLength(2);
    // Host deadline = timeout + 5 s margin; TERM works here.
    await new Promise((r) => setTimeout(r, 6_500));
    expect(pids.filter(alive)).toEqual([]);
    await lossy.close();
  });
});

describe('close', () => {
  it('closes the connection; later calls reject with CONNECT_FAILED', async () => {
    const t = await connect();
    await t.close();
    const error = await rejection(t.exec('true'));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain('closed by shipit');
    // An upload that can no longer start does not leave its source stream hanging.
    const source = new Readable({ read() {} });
    expect((await rejection(t.exec('cat', { stdin: source }))).code).toBe('CONNECT_FAILED');
    expect(source.destroyed).toBe(true);
  });
});
