// The ssh2 transport on the real lab: strict host keys against the lab's known_hosts, commands as root and
// deploy, a streamed tar upload, probes through forwardOut, timeouts that really kill, many operations on one
// connection. Host state is checked with the OpenSSH client (support/lab.ts), never with the code under test.
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostTarget, SshConfig } from '../../src/config/types.js';
import type { ShipitError } from '../../src/lib/errors.js';
import { connectHost } from '../../src/ssh/connect.js';
import { fingerprint } from '../../src/ssh/key-blob.js';
import { lookup, parseKnownHosts } from '../../src/ssh/known-hosts.js';
import type { SshTransport } from '../../src/ssh/ssh-transport.js';
import { labSsh, readLab, type LabHost, type LabInfo, type LabUser } from './support/lab.js';

jest.setTimeout(120_000);

const HTTP_PORT = 8791;
const HTTP_UNIT = 'shipit-e2e-ssh-http';
const SCRATCH = '/tmp/shipit-e2e-ssh';

let lab: LabInfo;
let host: LabHost;
const tmp = mkdtempSync(join(tmpdir(), 'shipit-e2e-ssh-'));
const open: SshTransport[] = [];
const figures: string[] = [];

function ssh(overrides: Partial<SshConfig> = {}): SshConfig {
  return {
    knownHostsFile: lab.knownHostsFile,
    identityFiles: [lab.identityFile],
    passphraseEnv: undefined,
    agent: false,
    connectTimeout: 10_000,
    keepaliveInterval: 5_000,
    commandTimeout: 60_000,
    ...overrides,
  };
}

function target(h: LabHost, user: LabUser = 'root'): HostTarget {
  return { name: h.name, host: h.address, user, port: h.sshPort };
}

async function connect(h: LabHost, user: LabUser = 'root', overrides: Partial<SshConfig> = {}, acceptNewHostKeys = false) {
  const transport = await connectHost(target(h, user), ssh(overrides), { acceptNewHostKeys });
  open.push(transport);
  return transport;
}

async function rejection(promise: Promise<unknown>): Promise<ShipitError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as ShipitError,
  );
}

function knownHostsFile(name: string, lines: string[]): string {
  const file = join(tmp, name);
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

/** The lab's recorded key of a type for a host, as a blob. */
function labKey(h: LabHost, type: string): Buffer {
  const { entries } = parseKnownHosts(readFileSync(lab.knownHostsFile, 'utf8'));
  const entry = lookup(entries, h.address, h.sshPort).keys.find((e) => e.keyType === type);
  if (!entry) throw new Error(`no ${type} key for ${h.name} in ${lab.knownHostsFile}`);
  return entry.key;
}

async function onHost(h: LabHost, command: string, user: LabUser = 'root') {
  return labSsh(lab, h, user, command);
}

function average(samples: number[]): string {
  return (samples.reduce((a, b) => a + b, 0) / samples.length).toFixed(1);
}

beforeAll(async () => {
  lab = readLab();
  host = lab.hosts[0]!;
  await onHost(host, `rm -rf ${SCRATCH} && mkdir -p ${SCRATCH} && chown deploy: ${SCRATCH}`);
});

afterAll(async () => {
  await Promise.allSettled(open.map((t) => t.close()));
  if (lab) await onHost(host, `systemctl stop ${HTTP_UNIT} 2>/dev/null; rm -rf ${SCRATCH}; true`);
  rmSync(tmp, { recursive: true, force: true });
  if (figures.length > 0) console.log(`ssh transport on the lab:\n  ${figures.join('\n  ')}`);
});

describe('connecting with strict host key checking', () => {
  it('connects as root and as deploy to every host, in parallel', async () => {
    const started = performance.now();
    const transports = await Promise.all(lab.hosts.map((h, i) => connect(h, i % 2 === 0 ? 'root' : 'deploy')));
    figures.push(`connect to ${lab.hosts.length} hosts in parallel: ${(performance.now() - started).toFixed(0)} ms`);
    const whoami = await Promise.all(transports.map((t) => t.exec('id -un')));
    expect(whoami.map((r) => r.stdout.trim())).toEqual(lab.hosts.map((_, i) => (i % 2 === 0 ? 'root' : 'deploy')));
    for (const [i, t] of transports.entries()) expect(t.hostKey.fingerprint).toBe(fingerprint(labKey(lab.hosts[i]!, 'ssh-ed25519')));
    const deploy = await connect(host, 'deploy');
    expect((await deploy.exec('id -un')).stdout).toBe('deploy\n');
  });

  it('connects to a host known only by its RSA key', async () => {
    const rsaOnly = readFileSync(lab.knownHostsFile, 'utf8').split('\n').filter((l) => l.includes(' ssh-rsa '));
    const t = await connect(host, 'root', { knownHostsFile: knownHostsFile('rsa_only', rsaOnly) });
    expect(t.hostKey).toEqual({ keyType: 'ssh-rsa', fingerprint: fingerprint(labKey(host, 'ssh-rsa')) });
  });

  it('refuses an unknown host, showing its fingerprint', async () => {
    const error = await rejection(connectHost(target(host), ssh({ knownHostsFile: knownHostsFile('empty', []) })));
    expect(error.code).toBe('HOST_KEY_UNKNOWN');
    expect(error.message).toContain(host.address);
    expect(error.message).toContain(`ssh-ed25519 key fingerprint is ${fingerprint(labKey(host, 'ssh-ed25519'))}`);
    expect(error.hint).toContain('--accept-new-host-keys');
  });

  it('refuses a changed key (another host answering at this address), with or without accept-new', async () => {
    const other = lab.hosts[1]!;
    const lines = readFileSync(lab.knownHostsFile, 'utf8').split('\n').filter((l) => l.startsWith(`${other.address} `));
    const forged = knownHostsFile('forged', lines.map((l) => l.replace(other.address, host.address)));
    for (const acceptNewHostKeys of [false, true]) {
      const error = await rejection(connectHost(target(host), ssh({ knownHostsFile: forged }), { acceptNewHostKeys }));
      expect(error.code).toBe('HOST_KEY_CHANGED');
      expect(error.message).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
      expect(error.message).toContain(`ssh-ed25519 key in ${forged}:1`);
    }
  });

  it('--accept-new-host-keys records a hashed entry that OpenSSH itself then accepts', async () => {
    const file = join(tmp, 'accept_new');
    await connect(host, 'deploy', { knownHostsFile: file }, true);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\|1\|\S+ ssh-ed25519 \S+\n$/);
    expect(parseKnownHosts(text).entries[0]!.key.equals(labKey(host, 'ssh-ed25519'))).toBe(true);
    await connect(host, 'deploy', { knownHostsFile: file });
    const viaOpenSsh = await labSsh(lab, host, 'deploy', 'echo ok', { knownHostsFile: file });
    expect(viaOpenSsh).toMatchObject({ exitCode: 0, stdout: 'ok' });
  });
});

describe('commands', () => {
  let root: SshTransport;
  let deploy: SshTransport;
  beforeAll(async () => {
    root = await connect(host, 'root');
    deploy = await connect(host, 'deploy');
  });

  it('returns stdout, stderr and the exit code', async () => {
    expect(await deploy.exec('echo "$HOME"; echo warn >&2; exit 7')).toEqual({ code: 7, stdout: '/home/deploy\n', stderr: 'warn\n' });
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await root.exec('true');
      samples.push(performance.now() - started);
    }
    figures.push(`exec round trip (\`true\`, sequential, avg of 20): ${average(samples)} ms`);
  });

  it('streams a gzipped tar through stdin into tar -xz, intact', async () => {
    const source = join(tmp, 'release');
    const files: Record<string, string> = {};
    rmSync(source, { recursive: true, force: true });
    mkdirSync(source);
    for (let i = 0; i < 5; i++) {
      const data = randomBytes(1024 * 1024); // incompressible: the gzipped tar stays ~5 MB
      writeFileSync(join(source, `blob-${i}.bin`), data);
      files[`blob-${i}.bin`] = createHash('sha256').update(data).digest('hex');
    }
    const tar = spawn('tar', ['-czf', '-', '-C', source, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const before = deploy.bytesSent;
    const started = performance.now();
    const result = await deploy.exec(`mkdir -p ${SCRATCH}/upload && tar -xz -C ${SCRATCH}/upload`, { stdin: tar.stdout });
    const seconds = (performance.now() - started) / 1000;
    const sent = deploy.bytesSent - before;
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(sent).toBeGreaterThan(5 * 1024 * 1024);
    figures.push(`streamed upload: ${(sent / 1024 / 1024).toFixed(1)} MiB gzipped tar in ${(seconds * 1000).toFixed(0)} ms = ${(sent / 1024 / 1024 / seconds).toFixed(1)} MiB/s`);
    const sums = await onHost(host, `cd ${SCRATCH}/upload && sha256sum blob-*.bin`);
    const remote = Object.fromEntries(sums.stdout.trim().split('\n').map((l) => l.split(/\s+/).reverse()));
    expect(remote).toEqual(files);
  });

  it('pushes bulk stdin at the speed of the link (raw throughput, no tar or gzip)', async () => {
    const chunk = randomBytes(1024 * 1024);
    const megabytes = 64;
    const started = performance.now();
    const result = await deploy.exec('wc -c', { stdin: Readable.from(Array.from({ length: megabytes }, () => chunk)) });
    const seconds = (performance.now() - started) / 1000;
    expect(result.stdout.trim()).toBe(String(megabytes * 1024 * 1024));
    figures.push(`raw stdin throughput: ${megabytes} MiB to \`wc -c\` in ${(seconds * 1000).toFixed(0)} ms = ${(megabytes / seconds).toFixed(0)} MiB/s`);
  });

  it.each(['root', 'deploy'] as const)('kills a command that exceeds its timeout on the host (as %s)', async (user) => {
    const t = user === 'root' ? root : deploy;
    const marker = `sleep 3${user === 'root' ? 11 : 12}.5`; // unique argv to find it by
    const started = performance.now();
    const error = await rejection(t.exec(`${marker} & wait`, { timeoutMs: 1_000 }));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain(`on ${host.name}`);
    expect(performance.now() - started).toBeLessThan(3_000);
    const left = await onHost(host, `pgrep -f '^${marker}$' || echo none`);
    expect(left.stdout.trim()).toBe('none');
  });

  it('kills the remote command when aborted', async () => {
    const controller = new AbortController();
    const running = root.exec('sleep 313.5 & wait', { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 500));
    expect((await onHost(host, "pgrep -f '^sleep 313.5$' >/dev/null && echo running")).stdout.trim()).toBe('running');
    controller.abort();
    expect((await rejection(running)).code).toBe('ABORTED');
    expect((await onHost(host, "pgrep -f '^sleep 313.5$' || echo none")).stdout.trim()).toBe('none');
  });

  it('fails a command at once, naming the host, when its connection dies mid-command', async () => {
    const doomed = await connect(host, 'deploy');
    // $PPID is the wrapper (`timeout`); its parent is this connection's sshd process (`sshd: deploy@notty`).
    const sshdPid = Number((await doomed.exec('ps -o ppid= -p $PPID')).stdout.trim());
    expect((await onHost(host, `ps -o args= -p ${sshdPid}`)).stdout).toContain('deploy@notty');
    const running = rejection(doomed.exec('sleep 314.5', { timeoutMs: 2_000 }));
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    await onHost(host, `kill -9 ${sshdPid}`);
    const error = await running;
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain(`deploy@${host.name}`);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await rejection(doomed.exec('true'))).code).toBe('CONNECT_FAILED');
    // Nobody can send the kill now: the host's own deadline (2 s + 5 s margin) ends the orphaned command.
    let left = 'running';
    for (let i = 0; i < 40 && left !== 'none'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      left = (await onHost(host, "pgrep -f '^sleep 314.5$' >/dev/null && echo running || echo none")).stdout.trim();
    }
    expect(left).toBe('none');
    expect(performance.now() - started).toBeLessThan(9_000);
  });
});

describe('probes through forwardOut', () => {
  let root: SshTransport;
  beforeAll(async () => {
    root = await connect(host, 'root');
    // `python3 -m http.server`, but configured like a production server: its default listen backlog of 5
    // drops SYNs when 50 probes connect at once (each then waits 1-3 s for a retransmit), and without
    // TCP_NODELAY its separate header and body writes add a delayed-ACK wait to every response.
    const server = [
      'import functools, http.server, sys',
      'class Handler(http.server.SimpleHTTPRequestHandler):',
      '    disable_nagle_algorithm = True',
      '    def log_message(self, *args): pass',
      'class Server(http.server.ThreadingHTTPServer):',
      '    request_queue_size = 128',
      `Server(('127.0.0.1', ${HTTP_PORT}), functools.partial(Handler, directory='${SCRATCH}')).serve_forever()`,
    ].join('\n');
    expect((await labSsh(lab, host, 'root', `cat > ${SCRATCH}/server.py`, { input: server })).exitCode).toBe(0);
    const started = await onHost(
      host,
      `echo hello > ${SCRATCH}/index.txt && systemctl stop ${HTTP_UNIT} 2>/dev/null; systemctl reset-failed ${HTTP_UNIT} 2>/dev/null; ` +
        `systemd-run --unit ${HTTP_UNIT} --quiet python3 ${SCRATCH}/server.py && ` +
        `for i in $(seq 50); do python3 -c 'import socket; socket.create_connection(("127.0.0.1", ${HTTP_PORT}), 1)' 2>/dev/null && exit 0; sleep 0.1; done; exit 1`,
    );
    expect(started.exitCode).toBe(0);
  });

  it('GETs from the host loopback: status and body', async () => {
    expect(await root.httpGet(HTTP_PORT, '/index.txt', { timeoutMs: 5_000 })).toEqual({ status: 200, body: 'hello\n' });
    expect((await root.httpGet(HTTP_PORT, '/missing', { timeoutMs: 5_000 })).status).toBe(404);
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await root.httpGet(HTTP_PORT, '/index.txt', { timeoutMs: 5_000 });
      samples.push(performance.now() - started);
    }
    figures.push(`probe latency (GET via forwardOut to a python http.server, avg of 20): ${average(samples)} ms`);
  });

  it('one connection carries many commands and probes at once', async () => {
    const started = performance.now();
    const [commands, probes] = await Promise.all([
      Promise.all(Array.from({ length: 50 }, (_, i) => root.exec(`echo ${i}`))),
      Promise.all(Array.from({ length: 50 }, () => root.httpGet(HTTP_PORT, '/index.txt', { timeoutMs: 10_000 }))),
    ]);
    figures.push(`50 execs + 50 probes concurrently on one connection: ${(performance.now() - started).toFixed(0)} ms`);
    expect(commands.map((r) => r.stdout)).toEqual(Array.from({ length: 50 }, (_, i) => `${i}\n`));
    expect(probes.every((p) => p.status === 200 && p.body === 'hello\n')).toBe(true);
  });

  it('a refused port is a quickly rejected probe, not a hang', async () => {
    await onHost(host, `systemctl stop ${HTTP_UNIT}`);
    const started = performance.now();
    const error = await rejection(root.httpGet(HTTP_PORT, '/index.txt', { timeoutMs: 10_000 }));
    expect(error.code).toBe('REMOTE_FAILED');
    expect(error.message).toContain('connection refused');
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
