// Jump hosts (ProxyJump) against real OpenSSH servers on loopback: `jump` and `target` are two throwaway sshds
// with their own host keys and their own authorized client keys, so every hop is checked and authenticated on
// its own. The target is reached through a direct-tcpip channel the jump opens, as `ssh -J jump target` does.
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { HostTarget, SshConfig } from '../../../src/config/types.js';
import type { ShipitError } from '../../../src/lib/errors.js';
import { connectHost, type JumpHop } from '../../../src/ssh/connect.js';
import { fingerprint } from '../../../src/ssh/key-blob.js';
import type { SshTransport } from '../../../src/ssh/ssh-transport.js';
import { startRelay, type Relay } from './support/proxy.js';
import { freePort, startSshd, type TestSshd } from './support/sshd.js';

let jump: TestSshd;
let target: TestSshd;
let noForwarding: TestSshd;
let counter = 0;
const user = userInfo().username;

beforeAll(async () => {
  [jump, target, noForwarding] = await Promise.all([startSshd(), startSshd(), startSshd({ extraConfig: ['Match all', '  AllowTcpForwarding no'] })]);
}, 30_000);
afterAll(() => Promise.all([jump.stop(), target.stop(), noForwarding.stop()]));

function knownHosts(lines: string[]): string {
  const file = join(jump.dir, `known_hosts.${++counter}`);
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

/** known_hosts with both servers' ed25519 keys (unless left out). */
function bothKnown(options: { jump?: boolean; target?: boolean } = {}): string {
  return knownHosts([
    ...(options.jump === false ? [] : [jump.knownHostsLine(jump.hostKeys.ed25519), noForwarding.knownHostsLine(noForwarding.hostKeys.ed25519)]),
    ...(options.target === false ? [] : [target.knownHostsLine(target.hostKeys.ed25519)]),
  ]);
}

function ssh(server: TestSshd, knownHostsFile: string, overrides: Partial<SshConfig> = {}): SshConfig {
  return {
    knownHostsFile,
    identityFiles: [server.clientKey.path],
    passphraseEnv: undefined,
    agent: false,
    connectTimeout: 5_000,
    keepaliveInterval: 5_000,
    commandTimeout: 0,
    ...overrides,
  };
}

const hostOf = (name: string, port: number): HostTarget => ({ name, host: '127.0.0.1', user, port });
const hop = (server: TestSshd, file: string, name = 'bastion', port = server.port, overrides: Partial<SshConfig> = {}): JumpHop => ({
  target: hostOf(name, port),
  ssh: ssh(server, file, overrides),
});

async function refusal(promise: Promise<unknown>): Promise<ShipitError> {
  return promise.then(
    async (value) => {
      if (value && typeof (value as SshTransport).close === 'function') await (value as SshTransport).close();
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as ShipitError,
  );
}

describe('connecting through jump hosts', () => {
  it('reaches the target through one jump: both host keys checked, each hop with its own identity', async () => {
    const file = bothKnown();
    const started = performance.now();
    const transport = await connectHost(hostOf('web4', target.port), ssh(target, file), { jumps: [hop(jump, file)] });
    const elapsed = performance.now() - started;
    try {
      expect(transport.hostKey.fingerprint).toBe(fingerprint(target.hostKeys.ed25519.blob));
      // The command runs on the target's sshd: its environment names the jump's forwarded connection.
      const result = await transport.exec('echo "$SSH_CONNECTION"');
      expect(result.stdout.trim()).toMatch(new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${target.port}$`));
      expect(elapsed).toBeLessThan(5_000);
    } finally {
      await transport.close();
    }
  });

  it('chains hops in order (ProxyJump a,b): a, then b from a, then the target from b', async () => {
    const file = bothKnown();
    const transport = await connectHost(hostOf('web4', target.port), ssh(target, file), { jumps: [hop(jump, file, 'a'), hop(jump, file, 'b')] });
    try {
      expect((await transport.exec('echo ok')).stdout).toBe('ok\n');
    } finally {
      await transport.close();
    }
  });

  it("refuses a jump host whose key is unknown, naming the hop and its fingerprint; the target is never tried", async () => {
    const file = bothKnown({ jump: false });
    const error = await refusal(connectHost(hostOf('web4', target.port), ssh(target, file), { jumps: [hop(jump, file)] }));
    expect(error.code).toBe('HOST_KEY_UNKNOWN');
    expect(error.host).toBe('web4');
    expect(error.message).toMatch(/^web4: via jump host bastion: The authenticity of host bastion \(127\.0\.0\.1:\d+\) can't be established/);
    expect(error.message).toContain(fingerprint(jump.hostKeys.ed25519.blob));
    expect(error.exitCode).toBe(3);
  });

  it('refuses a target whose key changed, behind a good jump host, saying which way it went', async () => {
    const file = knownHosts([jump.knownHostsLine(jump.hostKeys.ed25519), target.knownHostsLine(jump.hostKeys.ed25519)]);
    const error = await refusal(connectHost(hostOf('web4', target.port), ssh(target, file), { jumps: [hop(jump, file)] }));
    expect(error.code).toBe('HOST_KEY_CHANGED');
    expect(error.message).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED[\s\S]*web4 \(127\.0\.0\.1:\d+\)[\s\S]*\(through jump host bastion\)$/);
  });

  it('authenticates each hop with its own keys: a jump that does not know the key fails there, named', async () => {
    const file = bothKnown();
    const error = await refusal(connectHost(hostOf('web4', target.port), ssh(target, file), { jumps: [hop(jump, file, 'bastion', jump.port, { identityFiles: [target.clientKey.path] })] }));
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.message).toMatch(/^web4: via jump host bastion: Permission denied \(publickey\)/);
  });

  it('a jump host that cannot reach the next hop: CONNECT_FAILED naming both, at once', async () => {
    const file = bothKnown();
    const closed = await freePort();
    const started = Date.now();
    const error = await refusal(connectHost(hostOf('web4', closed), ssh(target, file), { jumps: [hop(jump, file)] }));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toBe(`web4: jump host bastion could not connect to web4 (127.0.0.1:${closed}): connection refused`);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a jump host that forbids TCP forwarding: the hint says AllowTcpForwarding', async () => {
    const file = bothKnown();
    const error = await refusal(connectHost(hostOf('web4', target.port), ssh(target, file), { jumps: [hop(noForwarding, file)] }));
    expect(error.message).toMatch(/jump host bastion could not connect to .*prohibited/);
    expect(error.hint).toMatch(/AllowTcpForwarding/);
  });

  it('a target that never speaks SSH behind the jump: CONNECT_FAILED through the hop, with an `ssh -J` hint', async () => {
    const silent = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const file = bothKnown();
      const error = await refusal(connectHost(hostOf('web4', port), ssh(target, file, { connectTimeout: 300 }), { jumps: [hop(jump, file)] }));
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toBe(`Cannot connect to ${user}@web4 (127.0.0.1:${port}): no SSH handshake within 300 ms (through jump host bastion)`);
      expect(error.hint).toContain(`ssh -J ${user}@127.0.0.1:${jump.port} -p ${port} ${user}@127.0.0.1 true`);
    } finally {
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('an unreachable jump host: CONNECT_FAILED via the hop', async () => {
    const file = bothKnown();
    const closed = await freePort();
    const error = await refusal(connectHost(hostOf('web4', target.port), ssh(target, file), { jumps: [hop(jump, file, 'bastion', closed)] }));
    expect(error.message).toMatch(new RegExp(`^web4: via jump host bastion: Cannot connect to ${user}@bastion \\(127\\.0\\.0\\.1:${closed}\\): connection refused`));
  });
});

describe('a jump connection that dies', () => {
  let relay: Relay;
  beforeEach(async () => {
    relay = await startRelay(jump.port);
  });
  afterEach(() => relay.close());

  async function throughRelay(keepaliveInterval: number): Promise<SshTransport> {
    const file = knownHosts([jump.knownHostsLine(jump.hostKeys.ed25519, relay.port), target.knownHostsLine(target.hostKeys.ed25519)]);
    return connectHost(hostOf('web4', target.port), ssh(target, file, { keepaliveInterval }), {
      jumps: [hop(jump, file, 'bastion', relay.port, { keepaliveInterval })],
    });
  }

  it('reset: the command in flight fails at once, naming the target and the jump host', async () => {
    const transport = await throughRelay(5_000);
    try {
      const running = transport.exec('sleep 30');
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      relay.cut();
      const error = await refusal(running);
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toMatch(/^Lost the SSH connection to .*@web4 \(127\.0\.0\.1:\d+\): jump host bastion: /);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect((await refusal(transport.exec('true'))).code).toBe('CONNECT_FAILED');
    } finally {
      await transport.close();
    }
  });

  it('silence (blackhole): keepalives end it within about 3 intervals, never a hang', async () => {
    const transport = await throughRelay(300);
    try {
      const running = transport.exec('sleep 30');
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      relay.blackhole();
      const error = await refusal(running);
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toMatch(/web4.*(no answer to keepalives|jump host bastion)/);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await transport.close();
    }
  });
});
