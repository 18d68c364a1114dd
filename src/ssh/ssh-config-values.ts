/**
 * The keywords shipit takes from an SSH config, each checked wherever it appears (ssh rejects a bad line even
 * in a block that does not apply) and kept only if it applies and is the first of its kind: OpenSSH's "first
 * obtained value wins"; IdentityFile accumulates. Every other keyword is ssh's business and is ignored.
 */
import { sshConfigError, type SshConfigDirective } from './ssh-config-lexer.js';
import type { Sourced } from './ssh-config.js';
import { parseProxyJump } from './proxy-jump.js';

/** The values collected for one host, each with where it came from. */
export interface Collected {
  hostname?: Sourced<string>;
  user?: Sourced<string>;
  port?: Sourced<number>;
  identityFiles: Array<Sourced<string>>;
  identitiesOnly?: Sourced<boolean>;
  hostKeyAlias?: Sourced<string>;
  proxyJump?: Sourced<string>;
  proxyCommand?: Sourced<string>;
}

function single(d: SshConfigDirective): string {
  if (d.args.length > 1) throw sshConfigError(d.file, d.line, `garbage at end of line after ${d.args[0]}`);
  return d.args[0]!;
}

function yesNo(d: SshConfigDirective): boolean {
  const value = single(d).toLowerCase();
  if (value === 'yes' || value === 'true') return true;
  if (value === 'no' || value === 'false') return false;
  throw sshConfigError(d.file, d.line, `${d.keyword}: expected yes or no, got "${d.args[0]}"`);
}

/** Values are checked whether or not their block applies (ssh rejects a bad line anywhere); set if first. */
export function apply(d: SshConfigDirective, active: boolean, state: Collected): void {
  const from = `${d.file}:${d.line}`;
  switch (d.keyword) {
    case 'hostname': {
      const value = single(d);
      if (active && !state.hostname) state.hostname = { value, from };
      return;
    }
    case 'user': {
      const value = single(d);
      if (active && !state.user) state.user = { value, from };
      return;
    }
    case 'port': {
      const text = single(d);
      const value = /^\d+$/.test(text) ? Number(text) : NaN;
      if (!(value >= 1 && value <= 65_535)) throw sshConfigError(d.file, d.line, `Port "${text}" is not a port number (1-65535)`);
      if (active && !state.port) state.port = { value, from };
      return;
    }
    case 'identityfile': {
      const value = single(d);
      // Cumulative; the same path twice is registered once (readconf.c add_identity_file).
      if (active && !state.identityFiles.some((f) => f.value === value)) state.identityFiles.push({ value, from });
      return;
    }
    case 'identitiesonly': {
      const value = yesNo(d);
      if (active && !state.identitiesOnly) state.identitiesOnly = { value, from };
      return;
    }
    case 'hostkeyalias': {
      const value = single(d);
      if (active && !state.hostKeyAlias) state.hostKeyAlias = { value, from };
      return;
    }
    case 'proxyjump': {
      const value = single(d);
      const parsed = parseProxyJump(value);
      if (!parsed.ok) throw sshConfigError(d.file, d.line, `invalid ProxyJump: ${parsed.reason}`);
      if (active) applyProxyJump(state, { value, from });
      return;
    }
    case 'proxycommand':
      if (active && !state.proxyCommand) state.proxyCommand = { value: d.rest.replace(/^[ \t=]+/, ''), from };
      return;
    default:
      // Every other keyword is ssh's business, not shipit's (ciphers, forwarding, ControlMaster, ...).
      return;
  }
}

/**
 * ProxyJump and ProxyCommand exclude each other; the first one set wins. A real ProxyJump counts as a
 * ProxyCommand (ssh turns it into one), `ProxyJump none` does not; `ProxyCommand none` blocks a later ProxyJump.
 */
export function applyProxyJump(state: Collected, value: Sourced<string>): void {
  if (state.proxyJump) return;
  if (value.value.toLowerCase() === 'none') {
    state.proxyJump = value;
    return;
  }
  if (state.proxyCommand) return;
  state.proxyJump = value;
  state.proxyCommand = { value: 'none', from: value.from };
}
