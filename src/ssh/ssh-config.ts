/**
 * What ssh_config(5) says about one host, resolved the way OpenSSH 9.x resolves it, so that a host that works
 * with `ssh web1` works with shipit. The oracle is `ssh -G <host> -F <file>` (tests compare against it).
 *
 * Rules, as in readconf.c / ssh.c:
 * - Files are read in order: the user's (~/.ssh/config or --ssh-config), then the system's (/etc/ssh/ssh_config,
 *   skipped when --ssh-config is given, like `ssh -F`). Values given first win: the command line (for shipit:
 *   what deploy.config says explicitly) before every file, an earlier line before a later one. IdentityFile is
 *   the exception: every matching one is added, in order.
 * - `Host` patterns match the host as written (case-sensitive, `*`, `?`, `!negation` vetoes the block).
 *   `Match` supports all, host, originalhost, user, localuser, canonical, final and `!`; `Match host` sees
 *   HostName as far as known. `Match final` triggers a second pass in which `Host` lines match the resolved
 *   HostName (OpenSSH's final pass). `Match exec` is refused (shipit runs nothing from the SSH config).
 * - `Include` reads files (globs, sorted; relative to ~/.ssh, or /etc/ssh from the system file) in place; an
 *   included file starts in, and cannot change, the including block's active state.
 * - HostName expands %h; IdentityFile expands ~, %-tokens and ${VAR} (ssh-tokens.ts).
 * - ProxyJump: first value wins, `none` disables; a ProxyCommand seen first disables it (and vice versa).
 *   ProxyCommand itself is refused: shipit cannot run it.
 *
 * Pure: files come through a reader, the machine's facts through a context (ssh-config-files.ts has the I/O).
 * Split by concept: ssh-config-read.ts (files, Include), ssh-config-match.ts (Host, Match),
 * ssh-config-values.ts (keywords), ssh-chain.ts (ProxyJump chains), ssh-tokens.ts (%-tokens).
 */
import { ShipitError } from '../lib/errors.js';
import { matchHostLine, matchLine, type Pass } from './ssh-config-match.js';
import { readSshConfig, type ConfigFile } from './ssh-config-read.js';
import { apply, applyProxyJump, type Collected } from './ssh-config-values.js';
import { expandHostName, expandTilde, expandTokens } from './ssh-tokens.js';
import { parseProxyJump, type JumpSpec } from './proxy-jump.js';

export interface SshConfigReader {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): string | undefined;
  /** Existing paths matching a glob pattern (`*`, `?`, `[...]`), sorted. */
  glob(pattern: string): string[];
}

export interface SshConfigSource {
  /** The user's file; undefined = none. Relative Includes in it (and in what it includes) resolve in ~/.ssh. */
  userFile: string | undefined;
  /** The system-wide file, read after the user's; undefined = none. Relative Includes resolve in /etc/ssh. */
  systemFile: string | undefined;
  reader: SshConfigReader;
}

/** This machine's facts that tokens and `Match` need. */
export interface SshConfigContext {
  home: string;
  localUser: string;
  uid: number;
  localHost: string;
  env: Readonly<Record<string, string | undefined>>;
  /** The user when nothing sets one: OpenSSH uses the local user, shipit uses root. */
  defaultUser: string;
}

/** One host to resolve, with the values that win over every file (ssh's command line: `user@`, -p, -J). */
export interface SshConfigQuery {
  host: string;
  user?: string;
  port?: number;
  proxyJump?: string;
  /** What to call those values in messages (default "command line"). */
  given?: string;
}

export interface Sourced<T> {
  value: T;
  /** `~/.ssh/config:12`, or the query's `given` label. */
  from: string;
}

export interface ResolvedSshHost {
  /** As queried (OpenSSH's %n). */
  host: string;
  /** After HostName and %h, lowercase: what to connect to and to look up in known_hosts. */
  hostname: string;
  user: string;
  port: number;
  /** Expanded; empty when no file names one (the caller's defaults apply, as ssh's do). */
  identityFiles: Array<Sourced<string>>;
  identitiesOnly: boolean;
  hostKeyAlias: string | undefined;
  /** Hops as written, in connection order; empty = connect directly. */
  proxyJump: JumpSpec[];
  /** Where hostname, user, port, proxyJump came from, when something set them (messages, `--verbose`). */
  sources: Partial<Record<'hostname' | 'user' | 'port' | 'proxyJump' | 'identitiesOnly' | 'hostKeyAlias', string>>;
}

export function resolveSshHost(query: SshConfigQuery, source: SshConfigSource, ctx: SshConfigContext): ResolvedSshHost {
  const given = query.given ?? 'command line';
  const state: Collected = { identityFiles: [] };
  if (query.user !== undefined) state.user = { value: query.user, from: given };
  if (query.port !== undefined) state.port = { value: query.port, from: given };
  if (query.proxyJump !== undefined) applyProxyJump(state, { value: query.proxyJump, from: given });

  const files = readSshConfig(source, ctx);
  const first: Pass = { final: false, hostForHostLines: query.host, wantFinal: false };
  evaluate(files, state, query, ctx, first);

  const hostname = finalHostName(state, query.host);
  if (first.wantFinal) {
    state.hostname = { value: hostname, from: state.hostname?.from ?? 'final pass' };
    evaluate(files, state, query, ctx, { final: true, hostForHostLines: hostname, wantFinal: false });
  }
  return finish(state, query, hostname, ctx);
}

function evaluate(files: ConfigFile[], state: Collected, query: SshConfigQuery, ctx: SshConfigContext, pass: Pass): void {
  for (const file of files) walk(file, true, false, state, query, ctx, pass);
}

/** One file: `active` is inherited from the including block; `neverMatch` when that block was inactive. */
function walk(file: ConfigFile, inherited: boolean, neverMatch: boolean, state: Collected, query: SshConfigQuery, ctx: SshConfigContext, pass: Pass): void {
  let active = inherited;
  for (const node of file.nodes) {
    const d = node.directive;
    if (node.kind === 'include') {
      for (const included of node.files) walk(included, active, neverMatch || !active, state, query, ctx, pass);
      continue;
    }
    if (d.keyword === 'host') {
      active = !neverMatch && matchHostLine(pass.hostForHostLines, d.args);
      continue;
    }
    if (d.keyword === 'match') {
      const matched = matchLine(d, state, query, ctx, pass, neverMatch);
      active = !neverMatch && matched;
      continue;
    }
    apply(d, active, state);
  }
}

function finalHostName(state: Collected, host: string): string {
  if (!state.hostname) return host.toLowerCase();
  const expanded = expandHostName(state.hostname.value, host);
  if (!expanded.ok) throw invalidAt(state.hostname.from, expanded.reason);
  return expanded.value.toLowerCase();
}

function invalidAt(from: string, reason: string): ShipitError {
  return new ShipitError('CONFIG_INVALID', `${from}: ${reason}`, {
    hint: 'Fix that line of the SSH config (`ssh -G <host>` shows how OpenSSH reads it).',
  });
}

function finish(state: Collected, query: SshConfigQuery, hostname: string, ctx: SshConfigContext): ResolvedSshHost {
  const user = state.user?.value ?? ctx.defaultUser;
  const port = state.port?.value ?? 22;
  const hostKeyAlias = state.hostKeyAlias?.value;
  const values = {
    hostname,
    originalHost: query.host,
    port,
    remoteUser: user,
    localUser: ctx.localUser,
    home: ctx.home,
    uid: ctx.uid,
    localHost: ctx.localHost,
    keyAlias: hostKeyAlias ?? query.host,
  };
  const identityFiles = state.identityFiles.map(({ value, from }) => {
    const expanded = expandTokens(expandTilde(value, ctx.home), values, ctx.env);
    if (!expanded.ok) throw invalidAt(from, `IdentityFile: ${expanded.reason}`);
    return { value: expanded.value, from };
  });

  let proxyJump: JumpSpec[] = [];
  if (state.proxyJump && state.proxyJump.value.toLowerCase() !== 'none') {
    const parsed = parseProxyJump(state.proxyJump.value);
    if (!parsed.ok) throw invalidAt(state.proxyJump.from, `invalid ProxyJump: ${parsed.reason}`);
    proxyJump = parsed.hops;
  } else if (state.proxyCommand && state.proxyCommand.value.toLowerCase() !== 'none') {
    throw new ShipitError('CONFIG_INVALID', `${state.proxyCommand.from}: ProxyCommand applies to ${query.host}, and shipit cannot run it`, {
      hint: 'Use ProxyJump for bastions (`ProxyJump user@bastion`), or `ProxyCommand none` in a block before it for the hosts shipit deploys to.',
    });
  }

  const sources: ResolvedSshHost['sources'] = {};
  if (state.hostname) sources.hostname = state.hostname.from;
  if (state.user) sources.user = state.user.from;
  if (state.port) sources.port = state.port.from;
  if (state.proxyJump) sources.proxyJump = state.proxyJump.from;
  if (state.identitiesOnly) sources.identitiesOnly = state.identitiesOnly.from;
  if (state.hostKeyAlias) sources.hostKeyAlias = state.hostKeyAlias.from;
  return {
    host: query.host,
    hostname,
    user,
    port,
    identityFiles,
    identitiesOnly: state.identitiesOnly?.value ?? false,
    hostKeyAlias,
    proxyJump,
    sources,
  };
}
