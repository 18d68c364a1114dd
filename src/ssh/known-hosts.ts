/**
 * OpenSSH known_hosts files, parsed and matched without I/O. The format is sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT"; matching follows OpenSSH's hostfile.c/match.c so a file that works with `ssh` works with shipit:
 *
 *   [@marker] patterns keytype base64-blob [comment]
 *
 * - patterns: comma list; `*` and `?` wildcards; `!pattern` vetoes the whole line; case-insensitive.
 * - a host on a port other than 22 is looked up as `[host]:port` (OpenSSH's put_host_port()).
 * - hashed lines (`HashKnownHosts yes`, `ssh-keygen -H`) hold ONE `|1|salt|hmac` instead of patterns:
 *   base64 HMAC-SHA1 of the lowercase host string, keyed by the base64-decoded salt.
 * - @revoked: that key must never be accepted; @cert-authority: a CA for host certificates (ssh2 has no
 *   certificate support, so those lines are reported but cannot authenticate a host).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { keyTypeOf } from './key-blob.js';

export type KnownHostMarker = 'revoked' | 'cert-authority';

export type HostMatcher =
  | { kind: 'patterns'; patterns: string[] }
  | { kind: 'hashed'; salt: Buffer; hash: Buffer };

export interface KnownHostEntry {
  /** 1-based line in the file: messages cite it like OpenSSH's "Offending key in known_hosts:3". */
  line: number;
  marker: KnownHostMarker | null;
  hosts: HostMatcher;
  /** Key type as written (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, …). */
  keyType: string;
  /** The public key blob, exactly as a server presents it during key exchange. */
  key: Buffer;
  comment: string;
}

export interface KnownHostsProblem {
  line: number;
  message: string;
}

export interface ParsedKnownHosts {
  entries: KnownHostEntry[];
  /** Lines skipped as malformed; OpenSSH skips them too, we keep them for diagnostics. */
  problems: KnownHostsProblem[];
}

/** What known_hosts says about one host. */
export interface HostKeys {
  /** Keys that authenticate the host (no marker). */
  keys: KnownHostEntry[];
  revoked: KnownHostEntry[];
  /** @cert-authority lines for the host: unusable with ssh2, reported when they are all there is. */
  certAuthorities: KnownHostEntry[];
}

const HASH_MAGIC = '|1|';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function parseKnownHosts(text: string): ParsedKnownHosts {
  const entries: KnownHostEntry[] = [];
  const problems: KnownHostsProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const parsed = parseLine(trimmed, line);
    if ('message' in parsed) problems.push(parsed);
    else entries.push(parsed);
  });
  return { entries, problems };
}

function parseLine(text: string, line: number): KnownHostEntry | KnownHostsProblem {
  const fields = text.split(/[ \t]+/);
  let marker: KnownHostMarker | null = null;
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift()!.slice(1);
    if (name !== 'revoked' && name !== 'cert-authority') return { line, message: `unknown marker @${name}` };
    marker = name;
  }
  const [hostField, keyType, blob64, ...rest] = fields;
  if (hostField === undefined || keyType === undefined || blob64 === undefined) {
    return { line, message: 'expected "hosts keytype key"' };
  }
  // SSH-1 RSA lines ("host bits exponent modulus") have a number where the key type should be.
  if (/^\d+$/.test(keyType)) return { line, message: 'SSH protocol 1 key (unsupported)' };
  if (!BASE64.test(blob64)) return { line, message: 'key is not base64' };
  const key = Buffer.from(blob64, 'base64');
  const innerType = keyTypeOf(key);
  if (innerType !== keyType) return { line, message: `key type ${keyType} does not match the key (${innerType ?? 'unreadable'})` };
  const hosts = parseHosts(hostField);
  if (hosts === null) return { line, message: `malformed hashed host ${hostField}` };
  return { line, marker, hosts, keyType, key, comment: rest.join(' ') };
}

function parseHosts(field: string): HostMatcher | null {
  if (!field.startsWith(HASH_MAGIC)) return { kind: 'patterns', patterns: field.split(',').filter((p) => p !== '') };
  const [salt64, hash64, extra] = field.slice(HASH_MAGIC.length).split('|');
  if (salt64 === undefined || hash64 === undefined || extra !== undefined) return null;
  if (!BASE64.test(salt64) || !BASE64.test(hash64)) return null;
  const hash = Buffer.from(hash64, 'base64');
  // HMAC-SHA1 is 20 bytes; anything else can never match.
  if (hash.length !== 20) return null;
  return { kind: 'hashed', salt: Buffer.from(salt64, 'base64'), hash };
}

/** The string OpenSSH looks up and hashes: `host` on port 22, `[host]:port` otherwise; lowercase. */
export function hostString(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

/** OpenSSH's match_pattern(): `*` = any run of characters, `?` = exactly one; the whole string must match. */
export function matchPattern(text: string, pattern: string): boolean {
  // Iterative wildcard matcher with backtracking to the last `*`: linear-ish, no regex built from user input.
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      t++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (starP !== -1) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** OpenSSH's match_hostname(): a matching `!pattern` vetoes the line even if another pattern matches. */
export function matchPatternList(text: string, patterns: readonly string[]): boolean {
  let positive = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (matchPattern(text, pattern)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

export function hashHostString(text: string, salt: Buffer): Buffer {
  return createHmac('sha1', salt).update(text).digest();
}

export function matchesHost(matcher: HostMatcher, host: string, port: number): boolean {
  const text = hostString(host, port);
  if (matcher.kind === 'patterns') return matchPatternList(text, matcher.patterns);
  return timingSafeEqual(hashHostString(text, matcher.salt), matcher.hash);
}

/** The entries of a file that apply to `host:port`, by role, in file order. */
export function lookup(entries: readonly KnownHostEntry[], host: string, port: number): HostKeys {
  const result: HostKeys = { keys: [], revoked: [], certAuthorities: [] };
  for (const entry of entries) {
    if (!matchesHost(entry.hosts, host, port)) continue;
    if (entry.marker === 'revoked') result.revoked.push(entry);
    else if (entry.marker === 'cert-authority') result.certAuthorities.push(entry);
    else result.keys.push(entry);
  }
  return result;
}

export interface FormatOptions {
  /** Hash the host name like `HashKnownHosts yes` (Debian's default). Default true. */
  hashed?: boolean;
  /** 20 random bytes unless given (tests pass one to get a stable line). */
  salt?: Buffer;
}

/** One known_hosts line (without newline) for a host's key blob, as `ssh` would append it. */
export function formatEntry(host: string, port: number, key: Buffer, options: FormatOptions = {}): string {
  const type = keyTypeOf(key);
  if (type === null) throw new Error('formatEntry: unreadable key blob');
  const text = hostString(host, port);
  let hostField = text;
  if (options.hashed ?? true) {
    const salt = options.salt ?? randomBytes(20);
    hostField = `${HASH_MAGIC}${salt.toString('base64')}|${hashHostString(text, salt).toString('base64')}`;
  }
  return `${hostField} ${type} ${key.toString('base64')}`;
}
