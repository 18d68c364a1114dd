import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decideHostKey, hostKeyAlgorithms } from '../../../src/ssh/host-key.js';
import { hostKeyError, noUsableHostKeyError } from '../../../src/ssh/host-key-errors.js';
import { fingerprint, keyTypeOf } from '../../../src/ssh/key-blob.js';
import { lookup, parseKnownHosts } from '../../../src/ssh/known-hosts.js';
import { generateKey, makeTempDir, sshKeygen, type GeneratedKey } from './support/keygen.js';

let tmp: ReturnType<typeof makeTempDir>;
let ed: GeneratedKey;
let ed2: GeneratedKey;
let ec: GeneratedKey;
let rsa: GeneratedKey;

const key = (k: GeneratedKey) => k.publicLine.split(' ').slice(0, 2).join(' ');

beforeAll(() => {
  tmp = makeTempDir();
  ed = generateKey(tmp.dir, 'ed', 'ed25519');
  ed2 = generateKey(tmp.dir, 'ed2', 'ed25519');
  ec = generateKey(tmp.dir, 'ec', 'ecdsa');
  rsa = generateKey(tmp.dir, 'rsa', 'rsa');
});
afterAll(() => tmp.cleanup());

function hostKeys(lines: string[], host = 'web1', port = 22) {
  return lookup(parseKnownHosts(lines.join('\n')).entries, host, port);
}

describe('fingerprint', () => {
  it.each(['ed', 'ec', 'rsa'])('matches ssh-keygen -lf for the %s key', (name) => {
    const k = { ed, ec, rsa }[name]!;
    const printed = sshKeygen(['-l', '-E', 'sha256', '-f', `${k.path}.pub`]).split(' ')[1];
    expect(fingerprint(k.blob)).toBe(printed);
  });

  it('reads the key type inside a blob, and rejects garbage', () => {
    expect(keyTypeOf(rsa.blob)).toBe('ssh-rsa');
    expect(keyTypeOf(ec.blob)).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOf(Buffer.from([0, 0, 0]))).toBeNull();
    expect(keyTypeOf(Buffer.from([0, 0, 0, 9, 65]))).toBeNull();
    expect(keyTypeOf(Buffer.from([0, 0, 0, 1, 0]))).toBeNull();
  });
});

describe('decideHostKey', () => {
  it('known: the presented key is listed for the host', () => {
    const verdict = decideHostKey(hostKeys([`web1 ${key(rsa)}`, `web1 ${key(ed)}`]), ed.blob);
    expect(verdict).toMatchObject({ status: 'known', entry: { line: 2 } });
  });

  it('unknown: nothing listed for this host (other hosts do not count)', () => {
    expect(decideHostKey(hostKeys([`web2 ${key(ed)}`]), ed.blob)).toEqual({ status: 'unknown', certAuthorityOnly: false });
  });

  it('unknown, and says so, when only a @cert-authority matches', () => {
    expect(decideHostKey(hostKeys([`@cert-authority web* ${key(ed)}`]), ed.blob)).toEqual({
      status: 'unknown',
      certAuthorityOnly: true,
    });
  });

  it('changed: another key of the same type is listed; cites that entry', () => {
    const verdict = decideHostKey(hostKeys([`web1 ${key(rsa)}`, `web1 ${key(ed)}`]), ed2.blob);
    expect(verdict.status).toBe('changed');
    expect(verdict.status === 'changed' && verdict.previous.map((e) => e.line)).toEqual([2]);
  });

  it('changed: the host shows a key type never recorded for it; cites everything known', () => {
    const verdict = decideHostKey(hostKeys([`web1 ${key(rsa)}`]), ed.blob);
    expect(verdict.status === 'changed' && verdict.previous.map((e) => e.line)).toEqual([1]);
  });

  it('changed is decided per port: [web1]:2222 is another host', () => {
    const lines = [`[web1]:2222 ${key(ed2)}`, `web1 ${key(ed)}`];
    expect(decideHostKey(hostKeys(lines, 'web1', 22), ed.blob).status).toBe('known');
    expect(decideHostKey(hostKeys(lines, 'web1', 2222), ed.blob).status).toBe('changed');
  });

  it('revoked wins, even when the same key is also listed as valid', () => {
    const verdict = decideHostKey(hostKeys([`web1 ${key(ed)}`, `@revoked * ${key(ed)}`]), ed.blob);
    expect(verdict).toMatchObject({ status: 'revoked', entry: { line: 2 } });
  });
});

describe('hostKeyAlgorithms', () => {
  it('offers ssh2 defaults for an unknown host', () => {
    expect(hostKeyAlgorithms(hostKeys([]))).toBeUndefined();
  });

  it('restricts an RSA-only host to the RSA signature algorithms (ssh2 would pick ed25519 first)', () => {
    expect(hostKeyAlgorithms(hostKeys([`web1 ${key(rsa)}`]))).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  });

  it('keeps ssh2 preference order across several known types, ignoring revoked and CA lines', () => {
    const known = hostKeys([`web1 ${key(rsa)}`, `web1 ${key(ec)}`, `web1 ${key(ed)}`, `@revoked * ${key(ed2)}`]);
    expect(hostKeyAlgorithms(known)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(hostKeyAlgorithms(hostKeys([`@cert-authority * ${key(ed)}`]))).toBeUndefined();
  });

  it('is empty when only types ssh2 cannot verify are known', () => {
    // A FIDO key blob: type string then arbitrary fields; parseKnownHosts only checks the type.
    const sk = Buffer.concat([Buffer.from([0, 0, 0, 26]), Buffer.from('sk-ssh-ed25519@openssh.com'), Buffer.alloc(8)]);
    expect(hostKeyAlgorithms(hostKeys([`web1 sk-ssh-ed25519@openssh.com ${sk.toString('base64')}`]))).toEqual([]);
  });
});

describe('refusals', () => {
  const ctx = { name: 'web1', host: '10.0.0.5', port: 22, knownHostsFile: '/home/u/.ssh/known_hosts' };

  it('unknown: names host, key type and fingerprint; hints at --accept-new-host-keys', () => {
    const error = hostKeyError({ status: 'unknown', certAuthorityOnly: false }, ed.blob, ctx);
    expect(error.code).toBe('HOST_KEY_UNKNOWN');
    expect(error.host).toBe('web1');
    expect(error.message).toContain('web1 (10.0.0.5:22)');
    expect(error.message).toContain(`ssh-ed25519 key fingerprint is ${fingerprint(ed.blob)}`);
    expect(error.hint).toContain('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
    expect(error.hint).toContain('--accept-new-host-keys');
    // A CI job's known_hosts comes from a secret: the hint says what to add there, and that CI must not accept keys.
    expect(error.hint).toContain("In CI, add the host's line (ssh-keyscan -p 22 10.0.0.5, its fingerprint compared) to the secret that file is written from (SSH_KNOWN_HOSTS), never --accept-new-host-keys.");
  });

  it('unknown with only a CA: says certificates are not supported', () => {
    const error = hostKeyError({ status: 'unknown', certAuthorityOnly: true }, ec.blob, ctx);
    expect(error.message).toContain('@cert-authority');
    expect(error.hint).toContain('ssh_host_ecdsa_key.pub');
  });

  it('changed: loud, cites file:line of the old entry, says nothing overrides it', () => {
    const file = join(tmp.dir, 'kh');
    writeFileSync(file, `# old\nweb1 ${key(ed)}\n`);
    const verdict = decideHostKey(hostKeys(['# old', `web1 ${key(ed)}`]), ed2.blob);
    if (verdict.status !== 'changed') throw new Error('expected changed');
    const error = hostKeyError(verdict, ed2.blob, { ...ctx, host: 'web1', knownHostsFile: file });
    expect(error.code).toBe('HOST_KEY_CHANGED');
    expect(error.message).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(error.message).toContain(fingerprint(ed2.blob));
    expect(error.message).toContain(`ssh-ed25519 key in ${file}:2`);
    expect(error.message).toContain('Host web1:22 sent');
    expect(error.hint).toContain(`ssh-keygen -R 'web1' -f ${file}`);
    expect(error.hint).toContain('No option skips this check');
  });

  it('revoked and no-usable-type refusals are HOST_KEY_CHANGED too', () => {
    const entries = parseKnownHosts(`@revoked * ${key(ed)}\n[10.0.0.5]:2222 ${key(rsa)}`).entries;
    expect(hostKeyError({ status: 'revoked', entry: entries[0]! }, ed.blob, ctx).message).toContain('REVOKED');
    const error = noUsableHostKeyError({ ...ctx, port: 2222 }, [entries[1]!], 'no matching host key format');
    expect(error.code).toBe('HOST_KEY_CHANGED');
    expect(error.message).toContain('ssh-rsa key in /home/u/.ssh/known_hosts:2');
    expect(error.hint).toContain(`ssh-keygen -R '[10.0.0.5]:2222'`);
  });
});
