// connectHost against a real OpenSSH server on loopback (see support/sshd.ts): host key checking, identities,
// and the ways a connection fails. The server is a throwaway sshd with its own keys, on a free port.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { HostTarget } from '../../../src/config/types.js';
import type { ShipitError } from '../../../src/lib/errors.js';
import { connectHost, type EndpointSshConfig, type HostKeyAcceptedInfo } from '../../../src/ssh/connect.js';
import { fingerprint } from '../../../src/ssh/key-blob.js';
import { parseKnownHosts } from '../../../src/ssh/known-hosts.js';
import { freePort, startSshd, type TestSshd } from './support/sshd.js';
import { generateKey, keygenFind, sshKeygen, type GeneratedKey } from './support/keygen.js';

let sshd: TestSshd;
let stranger: GeneratedKey; // a key the server does not have
let wrongClientKey: GeneratedKey;
let encryptedClientKey: GeneratedKey;
let counter = 0;

beforeAll(async () => {
  sshd = await startSshd();
  stranger = generateKey(sshd.dir, 'stranger', 'ed25519');
  wrongClientKey = generateKey(sshd.dir, 'wrong_client', 'ed25519');
  encryptedClientKey = generateKey(sshd.dir, 'encrypted_client', 'ed25519', 'correct horse');
  writeFileSync(join(sshd.dir, 'authorized_keys'), `${sshd.clientKey.publicLine}\n${encryptedClientKey.publicLine}\n`);
}, 30_000);
afterAll(() => sshd.stop());

function target(port = sshd.port): HostTarget {
  return { name: 'local', host: '127.0.0.1', user: userInfo().username, port };
}

function knownHosts(lines: string[]): string {
  const file = join(sshd.dir, `known_hosts.${++counter}`);
  writeFileSync(file, lines.map((l) => l + '\n').join(''));
  return file;
}

function config(overrides: Partial<EndpointSshConfig> = {}): EndpointSshConfig {
  return {
    knownHostsFile: knownHosts([sshd.knownHostsLine(sshd.hostKeys.ed25519)]),
    identityFiles: [sshd.clientKey.path],
    passphraseEnv: undefined,
    agent: false,
    connectTimeout: 5_000,
    keepaliveInterval: 5_000,
    commandTimeout: 0,
    ...overrides,
  };
}

async function refusal(promise: Promise<unknown>): Promise<ShipitError> {
  const error = await promise.then(
    async (connected) => {
      // Close what connected, so that the failing test ends instead of holding the connection open.
      await (connected as { close?: () => Promise<void> }).close?.();
      throw new Error('expected the connection to be refused');
    },
    (e: unknown) => e as ShipitError,
  );
  return error;
}

describe('host keys', () => {
  it('connects to a known host and reports the key it verified, as ssh-keygen prints it', async () => {
    const transport = await connectHost(target(), config());
    try {
      expect(transport.hostKey).toEqual({
        keyType: 'ssh-ed25519',
        fingerprint: sshKeygen(['-lf', `${sshd.hostKeys.ed25519.path}.pub`]).split(' ')[1],
      });
      expect((await transport.exec('echo ok')).stdout).toBe('ok\n');
    } finally {
      await transport.close();
    }
  });

  it.each(['rsa', 'ecdsa'] as const)('accepts a host known only by its %s key (host key algorithms restricted)', async (type) => {
    const key = sshd.hostKeys[type];
    const transport = await connectHost(target(), config({ knownHostsFile: knownHosts([sshd.knownHostsLine(key)]) }));
    expect(transport.hostKey.fingerprint).toBe(fingerprint(key.blob));
    await transport.close();
  });

  it('reads a known_hosts file hashed by ssh-keygen -H', async () => {
    const file = knownHosts([`# lab`, sshd.knownHostsLine(sshd.hostKeys.rsa)]);
    sshKeygen(['-H', '-f', file]);
    expect(readFileSync(file, 'utf8')).toMatch(/^\|1\|/m);
    const transport = await connectHost(target(), config({ knownHostsFile: file }));
    expect(transport.hostKey.keyType).toBe('ssh-rsa');
    await transport.close();
  });

  it('refuses an unknown host with its fingerprint, and writes nothing', async () => {
    const file = join(sshd.dir, 'absent', 'known_hosts');
    const error = await refusal(connectHost(target(), config({ knownHostsFile: file })));
    expect(error.code).toBe('HOST_KEY_UNKNOWN');
    expect(error.host).toBe('local');
    expect(error.message).toContain(`127.0.0.1:${sshd.port}`);
    expect(error.message).toContain(`ssh-ed25519 key fingerprint is ${fingerprint(sshd.hostKeys.ed25519.blob)}`);
    expect(error.hint).toContain('--accept-new-host-keys');
    expect(existsSync(file)).toBe(false);
  });

  it('refuses a changed key loudly, citing the old entry, even with acceptNewHostKeys', async () => {
    const file = knownHosts(['# other hosts', `[127.0.0.1]:${sshd.port} ${stranger.publicLine}`]);
    const error = await refusal(connectHost(target(), config({ knownHostsFile: file }), { acceptNewHostKeys: true }));
    expect(error.code).toBe('HOST_KEY_CHANGED');
    expect(error.message).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(error.message).toContain(fingerprint(sshd.hostKeys.ed25519.blob));
    expect(error.message).toContain(`ssh-ed25519 key in ${file}:2`);
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(3);
  });

  it('refuses a revoked key even when it is also listed as valid', async () => {
    const line = sshd.knownHostsLine(sshd.hostKeys.ed25519);
    const file = knownHosts([line, `@revoked * ${line.split(' ').slice(1).join(' ')}`]);
    const error = await refusal(connectHost(target(), config({ knownHostsFile: file })));
    expect(error.code).toBe('HOST_KEY_CHANGED');
    expect(error.message).toContain('REVOKED');
    expect(error.message).toContain(`${file}:2`);
  });

  it('refuses a host that no longer offers the key type recorded for it', async () => {
    const p384 = generateKey(sshd.dir, `p384-${++counter}`, 'ecdsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '384', '-N', '', '-f', `${p384.path}-384`]);
    const line = readFileSync(`${p384.path}-384.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const file = knownHosts([`[127.0.0.1]:${sshd.port} ${line}`]);
    const error = await refusal(connectHost(target(), config({ knownHostsFile: file }), { acceptNewHostKeys: true }));
    expect(error.code).toBe('HOST_KEY_CHANGED');
    expect(error.message).toContain('does not offer a host key of the type(s) recorded');
    expect(error.message).toContain(`ecdsa-sha2-nistp384 key in ${file}:1`);
  });

  it('with acceptNewHostKeys records an unknown host, hashed, 0600, then connects without it', async () => {
    const file = join(sshd.dir, `new-${++counter}`, 'known_hosts');
    const accepted: HostKeyAcceptedInfo[] = [];
    const first = await connectHost(target(), config({ knownHostsFile: file }), {
      acceptNewHostKeys: true,
      onHostKeyAccepted: (info) => accepted.push(info),
    });
    await first.close();
    expect(accepted).toEqual([
      {
        host: 'local',
        hostString: `[127.0.0.1]:${sshd.port}`,
        keyType: 'ssh-ed25519',
        fingerprint: fingerprint(sshd.hostKeys.ed25519.blob),
        knownHostsFile: file,
      },
    ]);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\|1\|[^ ]+ ssh-ed25519 AAAA\S+\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(keygenFind(file, `[127.0.0.1]:${sshd.port}`)).toEqual([1]);
    const second = await connectHost(target(), config({ knownHostsFile: file }), { acceptNewHostKeys: true });
    await second.close();
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(parseKnownHosts(text).entries[0]!.key.equals(sshd.hostKeys.ed25519.blob)).toBe(true);
  });
});

describe('identities', () => {
  it('tries identities in order on one connection until one is accepted', async () => {
    const transport = await connectHost(target(), config({ identityFiles: [wrongClientKey.path, sshd.clientKey.path] }));
    await transport.close();
  });

  it('AUTH_FAILED names user@host and every identity tried or skipped', async () => {
    const error = await refusal(
      connectHost(target(), config({ identityFiles: [wrongClientKey.path, join(sshd.dir, 'missing_key'), encryptedClientKey.path] })),
    );
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.message).toContain(`${userInfo().username}@local (127.0.0.1:${sshd.port})`);
    expect(error.message).toContain(`tried ${wrongClientKey.path}`);
    expect(error.message).toContain(`${join(sshd.dir, 'missing_key')} (ENOENT)`);
    expect(error.message).toContain(`${encryptedClientKey.path} (encrypted, no passphrase: set ssh.passphraseEnv`);
    expect(error.hint).toContain('ssh-copy-id');
    expect(error.hint).toContain(`${join(sshd.dir, 'missing_key')} does not exist: fix the path in ssh.identityFiles`);
  });

  it('AUTH_FAILED for a key path that does not exist says to fix the path, not to authorize a key', async () => {
    const error = await refusal(connectHost(target(), config({ identityFiles: [join(sshd.dir, 'id_typo')] })));
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.message).toContain(`no identity to offer; not offered: ${join(sshd.dir, 'id_typo')} (ENOENT)`);
    expect(error.hint).toBe(`${join(sshd.dir, 'id_typo')} does not exist: fix the path in ssh.identityFiles (or the IdentityFile of the SSH config).`);
  });

  it('refuses an authorized key that others can read, as ssh does, and says to chmod it', async () => {
    const open = join(sshd.dir, `open_key.${++counter}`);
    copyFileSync(sshd.clientKey.path, open);
    chmodSync(open, 0o640);
    const error = await refusal(connectHost(target(), config({ identityFiles: [open] })));
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.message).toContain(`${open} (permissions 0640 are too open: ssh ignores it too)`);
    expect(error.hint).toBe(`chmod 600 ${open} (ssh refuses a private key that others can read).`);
    chmodSync(open, 0o600);
    await (await connectHost(target(), config({ identityFiles: [open] }))).close();
  });

  it('decrypts an encrypted key with the passphrase from the named environment variable', async () => {
    process.env.SHIPIT_TEST_PASSPHRASE = 'correct horse';
    try {
      const transport = await connectHost(target(), config({ identityFiles: [encryptedClientKey.path], passphraseEnv: 'SHIPIT_TEST_PASSPHRASE' }));
      await transport.close();
      process.env.SHIPIT_TEST_PASSPHRASE = 'wrong';
      const error = await refusal(connectHost(target(), config({ identityFiles: [encryptedClientKey.path], passphraseEnv: 'SHIPIT_TEST_PASSPHRASE' })));
      expect(error.message).toContain('wrong passphrase: check $SHIPIT_TEST_PASSPHRASE');
      expect(error.message).not.toContain('wrong"');
    } finally {
      delete process.env.SHIPIT_TEST_PASSPHRASE;
    }
  });

  it('uses ssh-agent first when asked', async () => {
    const socket = join(sshd.dir, `agent-${++counter}.sock`);
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync('ssh-add', ['-q', sshd.clientKey.path], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
      process.env.SSH_AUTH_SOCK = socket;
      const transport = await connectHost(target(), config({ agent: true, identityFiles: [wrongClientKey.path] }));
      await transport.close();
      // The agent's key is gone: both are tried, in order, and named.
      execFileSync('ssh-add', ['-D'], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
      const error = await refusal(connectHost(target(), config({ agent: true, identityFiles: [wrongClientKey.path] })));
      expect(error.message).toContain(`tried agent (${socket}), ${wrongClientKey.path}`);
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      agent.kill();
    }
  });
});

describe('IdentitiesOnly (from the SSH config)', () => {
  let socket: string;
  let agent: ReturnType<typeof spawn>;
  let saved: string | undefined;
  beforeAll(async () => {
    socket = join(sshd.dir, `agent-only-${++counter}.sock`);
    agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
    // The encrypted key goes into the agent with its passphrase (askpass); the wrong key too.
    const askpass = join(sshd.dir, 'askpass.sh');
    writeFileSync(askpass, "#!/bin/sh\necho 'correct horse'\n", { mode: 0o700 });
    const env = { ...process.env, SSH_AUTH_SOCK: socket, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' };
    execFileSync('ssh-add', ['-q', encryptedClientKey.path, wrongClientKey.path], { env, stdio: 'ignore' });
    saved = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = socket;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = saved;
    agent.kill();
  });

  it('uses the agent for an encrypted identity file it holds, with no passphrase anywhere (as ssh does)', async () => {
    const transport = await connectHost(target(), config({ agent: true, identitiesOnly: true, identityFiles: [encryptedClientKey.path] }));
    await transport.close();
  });

  it("offers none of the agent's other keys", async () => {
    const error = await refusal(connectHost(target(), config({ agent: true, identitiesOnly: true, identityFiles: [wrongClientKey.path] })));
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.message).toContain(`tried agent (${socket}, IdentitiesOnly: its keys among the identity files), ${wrongClientKey.path}`);
    // Without IdentitiesOnly the same agent gets in with the encrypted key it holds.
    const transport = await connectHost(target(), config({ agent: true, identityFiles: [wrongClientKey.path] }));
    await transport.close();
  });
});

describe('the first command', () => {
  it('runs beside the first commands: on a host that cannot run commands, each command and probe fails with its reason', async () => {
    const broken = await startSshd({ extraConfig: ['ForceCommand echo "no shell for you" >&2; exit 1'] });
    try {
      const file = knownHosts([broken.knownHostsLine(broken.hostKeys.ed25519)]);
      const transport = await connectHost(target(broken.port), config({ knownHostsFile: file, identityFiles: [broken.clientKey.path] }));
      try {
        for (const attempt of [transport.exec('echo hello'), transport.exec('true'), transport.httpGet(8000, '/readyz', { timeoutMs: 2_000 })]) {
          const error = await refusal(attempt);
          expect(error.code).toBe('CONNECT_FAILED');
          expect(error.message).toBe(`Cannot run commands on local as ${userInfo().username}: no shell for you`);
          expect(error.hint).toContain('timeout');
        }
      } finally {
        await transport.close();
      }
    } finally {
      await broken.stop();
    }
  });

  it('on a host that runs commands, changes nothing about their results, failures included', async () => {
    const transport = await connectHost(target(), config({}));
    try {
      expect(await transport.exec('echo hello')).toMatchObject({ code: 0, stdout: 'hello\n' });
      expect(await transport.exec('echo oops >&2; exit 3')).toMatchObject({ code: 3, stderr: 'oops\n' });
    } finally {
      await transport.close();
    }
  });
});

describe('connection failures', () => {
  let silent: Server;
  let silentPort: number;
  beforeAll(async () => {
    // Accepts TCP connections and never says a word: a hung host, a wrong port behind a firewall.
    silent = createServer((socket) => socket.resume()); // reading, so it sees our side close
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => silent.close(() => resolve())));

  it('connection refused: CONNECT_FAILED naming host:port, at once', async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await refusal(connectHost(target(port), config()));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain(`(127.0.0.1:${port}): connection refused`);
    expect(error.hint).toContain(`port ${port}`);
    // Refused at once: waiting longer would not help, so the hint does not suggest it.
    expect(error.hint).not.toContain('connectTimeout');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('no handshake within connectTimeout: CONNECT_FAILED', async () => {
    const started = Date.now();
    const error = await refusal(connectHost(target(silentPort), config({ connectTimeout: 300 })));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain(`(127.0.0.1:${silentPort}): no SSH handshake within 300 ms`);
    expect(error.hint).toMatch(/, or raise ssh\.connectTimeout\.$/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('abort while connecting: ABORTED', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await refusal(connectHost(target(silentPort), config(), { signal: controller.signal }));
    expect(error.code).toBe('ABORTED');
    expect(error.host).toBe('local');
  });
});
