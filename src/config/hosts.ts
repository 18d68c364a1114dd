/**
 * Host syntax shared by the schema and tests: '[user@]host[:port]', where host is a DNS name, an IPv4 address
 * or a bracketed IPv6 address ('deploy@[2001:db8::5]:2222'). Pure; no DNS.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface ParsedHost {
  user: string | undefined;
  /** IPv6 addresses are stored without brackets (what ssh2 and getaddrinfo take). */
  host: string;
  port: number | undefined;
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** Login names ssh accepts in practice; no shell metacharacters, since they end up in ssh argv. */
export const SSH_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** A DNS name, an IPv4 address or an (unbracketed) IPv6 address. */
export function isValidHostAddress(host: string): boolean {
  if (isIPv4(host) || isIPv6(host)) return true;
  if (host.length === 0 || host.length > 253) return false;
  const labels = host.replace(/\.$/, '').split('.');
  // All-numeric dotted names are meant as IPv4: '10.0.0.300' must not pass as a host name.
  if (labels.every((label) => /^\d+$/.test(label))) return false;
  return labels.every((label) => LABEL.test(label));
}

/** Parses '[user@]host[:port]'; undefined when it is not one. */
export function parseHostString(text: string): ParsedHost | undefined {
  let rest = text;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!SSH_USER.test(user)) return undefined;
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) return undefined;
    host = rest.slice(1, close);
    if (!isIPv6(host)) return undefined;
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return undefined;
      portText = after.slice(1);
    }
  } else if (isIPv6(rest)) {
    host = rest; // unbracketed IPv6 cannot carry a port
  } else {
    const colon = rest.lastIndexOf(':');
    host = colon === -1 ? rest : rest.slice(0, colon);
    portText = colon === -1 ? undefined : rest.slice(colon + 1);
    if (!isValidHostAddress(host) || isIPv6(host)) return undefined;
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65_535) return undefined;
  }
  return { user, host, port };
}

/** How a host is shown when it has no alias: the host as written, with ':port' when it is not 22. */
export function defaultHostName(host: string, port: number): string {
  const shown = isIPv6(host) ? (port === 22 ? host : `[${host}]`) : host;
  return port === 22 ? shown : `${shown}:${port}`;
}
