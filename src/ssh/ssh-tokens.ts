/**
 * The expansions OpenSSH applies to paths in ssh_config (ssh_config(5) "TOKENS" and "ENVIRONMENT VARIABLES"),
 * as ssh 9.x does for IdentityFile: `~` first (tilde_expand_filename), then `%` tokens and `${VAR}` in one pass
 * (percent_dollar_expand). Pure: everything it substitutes is passed in.
 */
import { createHash } from 'node:crypto';

/** What the tokens stand for, for one connection. */
export interface TokenValues {
  /** %h: the remote host name after HostName (lowercase). */
  hostname: string;
  /** %n: the host as the user wrote it. */
  originalHost: string;
  /** %p */
  port: number;
  /** %r */
  remoteUser: string;
  /** %u */
  localUser: string;
  /** %d */
  home: string;
  /** %i */
  uid: number;
  /** %l: this machine's host name (%L: up to its first dot). */
  localHost: string;
  /** %k: HostKeyAlias, else the host as written. */
  keyAlias: string;
}

export type TokenResult = { ok: true; value: string } | { ok: false; reason: string };

/** `~` and `~/…` only: `~user` is left as written (shipit does not read other users' home directories). */
export function expandTilde(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return `${home.replace(/\/+$/, '')}/${path.slice(2)}`;
  return path;
}

/** %C: SHA-1 of %l%h%p%r, hex (OpenSSH 9.2's ssh_connection_hash; 9.4+ appends %j). */
export function connectionHash(values: TokenValues): string {
  return createHash('sha1').update(`${values.localHost}${values.hostname}${values.port}${values.remoteUser}`).digest('hex');
}

const TOKENS: Record<string, (values: TokenValues) => string> = {
  '%': () => '%',
  C: connectionHash,
  L: (v) => v.localHost.split('.')[0]!,
  i: (v) => String(v.uid),
  k: (v) => v.keyAlias,
  l: (v) => v.localHost,
  n: (v) => v.originalHost,
  p: (v) => String(v.port),
  d: (v) => v.home,
  h: (v) => v.hostname,
  r: (v) => v.remoteUser,
  u: (v) => v.localUser,
};

/**
 * `%x` tokens and `${VAR}` environment references, as OpenSSH expands an IdentityFile. An unknown token, an
 * unterminated `${`, or an unset variable is an error there too (ssh refuses to connect).
 */
export function expandTokens(text: string, values: TokenValues, env: Readonly<Record<string, string | undefined>>): TokenResult {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '$' && text[i + 1] === '{') {
      const close = text.indexOf('}', i + 2);
      if (close === -1) return { ok: false, reason: `unterminated \${ in "${text}"` };
      const name = text.slice(i + 2, close);
      const value = env[name];
      // Unset is an error; set but empty expands to nothing (what ssh 9.2 does).
      if (value === undefined) return { ok: false, reason: `environment variable \${${name}} is not set` };
      out += value;
      i = close;
    } else if (c === '%') {
      const key = text[i + 1];
      const token = key === undefined ? undefined : TOKENS[key];
      if (!token) return { ok: false, reason: key === undefined ? `"${text}" ends with a lone %` : `unknown token %${key} in "${text}"` };
      out += token(values);
      i++;
    } else {
      out += c;
    }
  }
  return { ok: true, value: out };
}

/** HostName takes only %h (the host as written) and %% (OpenSSH's ssh.c expands nothing else there). */
export function expandHostName(text: string, originalHost: string): TokenResult {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '%') {
      out += text[i];
      continue;
    }
    const key = text[i + 1];
    if (key === 'h') out += originalHost;
    else if (key === '%') out += '%';
    else return { ok: false, reason: `unknown token %${key ?? ''} in HostName "${text}" (only %h and %% are allowed)` };
    i++;
  }
  return { ok: true, value: out };
}
