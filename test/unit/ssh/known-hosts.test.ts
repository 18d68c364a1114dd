import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatEntry,
  hostString,
  lookup,
  matchPattern,
  matchPatternList,
  parseKnownHosts,
  type HostKeys,
} from '../../../src/ssh/known-hosts.js';
import { generateKey, keygenFind, makeTempDir, sshKeygen, type GeneratedKey } from './support/keygen.js';

/** Queries as OpenSSH spells them: host and port → `host` or `[host]:port`. */
const QUERIES: Array<[string, number]> = [
  ['web1', 22],
  ['WEB1', 22],
  ['10.0.0.1', 22],
  ['web1', 2222],
  ['web2', 2222],
  ['web2', 22],
  ['x.example.com', 22],
  ['bad.example.com', 22],
  ['foo.ca.test', 22],
  ['web3.lab', 22],
  ['web33.lab', 22],
  ['db.internal', 2200],
  ['nowhere', 22],
];

let tmp: ReturnType<typeof makeTempDir>;
let ed: GeneratedKey;
let ec: GeneratedKey;
let rsa: GeneratedKey;
let plainFile: string;
let hashedFile: string;

function keyOf(k: GeneratedKey): string {
  return k.publicLine.split(' ').slice(0, 2).join(' ');
}

beforeAll(() => {
  tmp = makeTempDir();
  ed = generateKey(tmp.dir, 'ed', 'ed25519');
  ec = generateKey(tmp.dir, 'ec', 'ecdsa');
  rsa = generateKey(tmp.dir, 'rsa', 'rsa');
  plainFile = join(tmp.dir, 'known_hosts');
  writeFileSync(
    plainFile,
    [
      '# a comment, then a blank line',
      '',
      `web1,10.0.0.1 ${keyOf(ed)}`,
      `[web2]:2222 ${keyOf(ec)} a comment with spaces`,
      `*.example.com,!bad.example.com ${keyOf(ed)}`,
      `@revoked * ${keyOf(rsa)}`,
      `@cert-authority *.ca.test ${keyOf(ed)}`,
      `web?.lab\t${keyOf(ec)}`,
      `   [db.internal]:2200 ${keyOf(rsa)}`,
      `web1 ${keyOf(rsa)}`,
    ].join('\n') + '\n',
  );
  hashedFile = join(tmp.dir, 'known_hosts.hashed');
  copyFileSync(plainFile, hashedFile);
  // Real `HashKnownHosts`-style file: ssh-keygen -H hashes every literal host (wildcard lines stay as they are).
  sshKeygen(['-H', '-f', hashedFile]);
});
afterAll(() => tmp.cleanup());

/** Our lookup rendered like `ssh-keygen -F` reports it: line numbers (markers are checked separately). */
function lines(found: HostKeys): number[] {
  return [...found.keys, ...found.revoked, ...found.certAuthorities].map((e) => e.line).sort((a, b) => a - b);
}

describe('parseKnownHosts', () => {
  it('reads patterns, markers, key types, blobs and comments with their line numbers', () => {
    const { entries, problems } = parseKnownHosts(readFileSync(plainFile, 'utf8'));
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.line, e.marker, e.keyType])).toEqual([
      [3, null, 'ssh-ed25519'],
      [4, null, 'ecdsa-sha2-nistp256'],
      [5, null, 'ssh-ed25519'],
      [6, 'revoked', 'ssh-rsa'],
      [7, 'cert-authority', 'ssh-ed25519'],
      [8, null, 'ecdsa-sha2-nistp256'],
      [9, null, 'ssh-rsa'],
      [10, null, 'ssh-rsa'],
    ]);
    expect(entries[0]!.hosts).toEqual({ kind: 'patterns', patterns: ['web1', '10.0.0.1'] });
    expect(entries[0]!.key.equals(ed.blob)).toBe(true);
    expect(entries[1]!.comment).toBe('a comment with spaces');
  });

  it('reads hashed entries written by ssh-keygen -H', () => {
    const { entries, problems } = parseKnownHosts(readFileSync(hashedFile, 'utf8'));
    expect(problems).toEqual([]);
    const hashed = entries.filter((e) => e.hosts.kind === 'hashed');
    // web1 and 10.0.0.1 become two lines; [web2]:2222, [db.internal]:2200 and the second web1 one each.
    expect(hashed).toHaveLength(5);
    for (const e of hashed) expect(e.hosts.kind === 'hashed' && e.hosts.salt.length).toBe(20);
  });

  it('skips malformed lines and says why, keeping the rest', () => {
    const text = [
      `web1 ${keyOf(ed)}`,
      'web2 ssh-ed25519',
      '@bogus web3 ssh-ed25519 AAAA',
      'web4 ssh-ed25519 not!base64',
      `web5 ssh-rsa ${keyOf(ed).split(' ')[1]}`,
      'web6 1024 35 12345678',
      `|1|onlysalt ${keyOf(ed)}`,
      `|1|c2FsdA==|c2hvcnQ= ${keyOf(ed)}`,
    ].join('\r\n');
    const { entries, problems } = parseKnownHosts(text);
    expect(entries.map((e) => e.line)).toEqual([1]);
    expect(problems).toEqual([
      { line: 2, message: 'expected "hosts keytype key"' },
      { line: 3, message: 'unknown marker @bogus' },
      { line: 4, message: 'key is not base64' },
      { line: 5, message: 'key type ssh-rsa does not match the key (ssh-ed25519)' },
      { line: 6, message: 'SSH protocol 1 key (unsupported)' },
      { line: 7, message: 'malformed hashed host |1|onlysalt' },
      { line: 8, message: 'malformed hashed host |1|c2FsdA==|c2hvcnQ=' },
    ]);
  });
});

describe('lookup agrees with ssh-keygen -F', () => {
  it.each(QUERIES)('plain file: %s port %d', (host, port) => {
    const { entries } = parseKnownHosts(readFileSync(plainFile, 'utf8'));
    expect(lines(lookup(entries, host, port))).toEqual(keygenFind(plainFile, hostString(host, port)));
  });

  it.each(QUERIES)('hashed file: %s port %d', (host, port) => {
    const { entries } = parseKnownHosts(readFileSync(hashedFile, 'utf8'));
    expect(lines(lookup(entries, host, port))).toEqual(keygenFind(hashedFile, hostString(host, port)));
  });

  it('sorts matches by role: keys, @revoked, @cert-authority', () => {
    const { entries } = parseKnownHosts(readFileSync(plainFile, 'utf8'));
    const web1 = lookup(entries, 'web1', 22);
    expect(web1.keys.map((e) => e.line)).toEqual([3, 10]);
    expect(web1.revoked.map((e) => e.line)).toEqual([6]);
    expect(lookup(entries, 'foo.ca.test', 22).certAuthorities.map((e) => e.line)).toEqual([7]);
    expect(lookup(entries, 'foo.ca.test', 22).keys).toEqual([]);
  });
});

describe('patterns', () => {
  it.each([
    ['web1', 'web1', true],
    ['web1', 'web?', true],
    ['web12', 'web?', false],
    ['a.b.example.com', '*.example.com', true],
    ['example.com', '*.example.com', false],
    ['[web1]:2222', '*', true],
    ['[web1]:2222', '[web?]:*', true],
    ['abcabd', '*ab?', true],
    ['', '*', true],
    ['x', '', false],
  ])('%j matches %j: %s', (text, pattern, expected) => {
    expect(matchPattern(text, pattern)).toBe(expected);
  });

  it('a negated pattern vetoes the line; a lone negation matches nothing', () => {
    expect(matchPatternList('bad.example.com', ['*.example.com', '!bad.example.com'])).toBe(false);
    expect(matchPatternList('ok.example.com', ['*.example.com', '!bad.example.com'])).toBe(true);
    expect(matchPatternList('web1', ['!web2'])).toBe(false);
    expect(matchPatternList('web1', ['WEB1'])).toBe(true);
  });

  it('spells hosts as OpenSSH does', () => {
    expect(hostString('Web1.Example.COM', 22)).toBe('web1.example.com');
    expect(hostString('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });
});

describe('formatEntry', () => {
  it('writes a hashed line that ssh-keygen -F finds, and only for that host and port', () => {
    const file = join(tmp.dir, 'appended');
    writeFileSync(file, '');
    appendFileSync(file, formatEntry('Web9.Lab', 2222, ed.blob) + '\n');
    appendFileSync(file, formatEntry('web9.lab', 22, ec.blob) + '\n');
    expect(keygenFind(file, '[web9.lab]:2222')).toEqual([1]);
    expect(keygenFind(file, 'web9.lab')).toEqual([2]);
    expect(keygenFind(file, 'web8.lab')).toEqual([]);
    const { entries, problems } = parseKnownHosts(readFileSync(file, 'utf8'));
    expect(problems).toEqual([]);
    expect(lookup(entries, 'web9.lab', 2222).keys.map((e) => e.key.equals(ed.blob))).toEqual([true]);
  });

  it('is deterministic with a given salt, and plain when asked', () => {
    const salt = Buffer.alloc(20, 7);
    const line = formatEntry('web1', 22, ed.blob, { salt });
    expect(line).toMatch(/^\|1\|BwcHBwcHBwcHBwcHBwcHBwcHBwc=\|[A-Za-z0-9+/]{27}= ssh-ed25519 AAAA/);
    expect(formatEntry('web1', 22, ed.blob, { salt })).toBe(line);
    expect(formatEntry('web1', 2222, ed.blob, { hashed: false })).toBe(`[web1]:2222 ${keyOf(ed)}`);
  });

  it('is the same hash ssh-keygen -H computes for that salt', () => {
    const file = join(tmp.dir, 'to-hash');
    writeFileSync(file, `[web1]:2222 ${keyOf(ed)}\n`);
    sshKeygen(['-H', '-f', file]);
    const hashedLine = readFileSync(file, 'utf8').trim();
    const salt64 = hashedLine.split('|')[2]!;
    expect(formatEntry('web1', 2222, ed.blob, { salt: Buffer.from(salt64, 'base64') })).toBe(hashedLine);
  });
});
