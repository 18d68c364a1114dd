/**
 * ProxyJump values (ssh_config(5), ssh(1) -J): `none`, or a comma-separated list of hops, each
 * `[user@]host[:port]` or `ssh://[user@]host[:port]`, with `[v6address]:port` for IPv6. Parsed as OpenSSH's
 * parse_jump/parse_user_host_port do: the user ends at the LAST `@`, a port must be 1-65535.
 *
 * Order matters: `ProxyJump a,b` connects to a first, from there to b, from b to the target. OpenSSH runs it as
 * `ssh -J a -W target b`: the LAST hop is reached through the others, which override b's own ProxyJump.
 */
export interface JumpSpec {
  /** As written in the list, for messages. */
  text: string;
  user: string | undefined;
  host: string;
  port: number | undefined;
}

export type JumpParse = { ok: true; hops: JumpSpec[] } | { ok: false; reason: string };

/** `none` (any case) gives no hops. */
export function parseProxyJump(value: string): JumpParse {
  if (value.toLowerCase() === 'none') return { ok: true, hops: [] };
  const hops: JumpSpec[] = [];
  for (const text of value.split(',')) {
    const hop = parseHop(text);
    if (typeof hop === 'string') return { ok: false, reason: `"${text}" in ProxyJump ${value}: ${hop}` };
    hops.push(hop);
  }
  return { ok: true, hops };
}

function parseHop(text: string): JumpSpec | string {
  const uri = /^ssh:\/\//i.test(text);
  let rest = uri ? text.slice('ssh://'.length).replace(/\/$/, '') : text;
  if (rest === '') return 'empty hop';
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    user = rest.slice(0, at) || undefined;
    rest = rest.slice(at + 1);
    // ssh:// user info may not carry ';' parameters or another '@' (RFC 4248 as OpenSSH reads it).
    if (uri && user !== undefined && /[;@]/.test(user)) return 'user parameters are not supported';
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) return 'unclosed [';
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return 'expected :port after ]';
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = rest.indexOf(':');
    host = colon === -1 ? rest : rest.slice(0, colon);
    portText = colon === -1 ? undefined : rest.slice(colon + 1);
  }
  if (host === '') return 'no host';
  let port: number | undefined;
  if (portText !== undefined && portText !== '') {
    port = /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65_535)) return `bad port "${portText}"`;
  }
  return { text, user, host, port };
}

export function formatJumps(hops: readonly JumpSpec[]): string {
  return hops.map((h) => h.text).join(',');
}
