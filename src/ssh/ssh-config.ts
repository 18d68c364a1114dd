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
 */
import { ShipitError } from '../lib/errors.js';
import { matchPattern } from './known-hosts.js';
import { lexSshConfig, sshConfigError, type SshConfigDirective } from './ssh-config-lexer.js';
import { expandHostName, expandTilde, expandTokens } from './ssh-tokens.js';
import { formatJumps, parseProxyJump, type JumpSpec } from './proxy-jump.js';

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

/** OpenSSH's READCONF_MAX_DEPTH. */
const MAX_INCLUDE_DEPTH = 16;
const SYSTEM_DIR = '/etc/ssh';

interface Collected {
  hostname?: Sourced<string>;
  user?: Sourced<string>;
  port?: Sourced<number>;
  identityFiles: Array<Sourced<string>>;
  identitiesOnly?: Sourced<boolean>;
  hostKeyAlias?: Sourced<string>;
  proxyJump?: Sourced<string>;
  proxyCommand?: Sourced<string>;
}

interface Pass {
  final: boolean;
  /** What `Host` lines match: the host as written, or in the final pass the resolved HostName. */
  hostForHostLines: string;
  /** Set by a `Match final` seen during the first pass. */
  wantFinal: boolean;
}

export function resolveSshHost(query: SshConfigQuery, source: SshConfigSource, ctx: SshConfigContext): ResolvedSshHost {
  const given = query.given ?? 'command line';
  const state: Collected = { identityFiles: [] };
  if (query.user !== undefined) state.user = { value: query.user, from: given };
  if (query.port !== undefined) state.port = { value: query.port, from: given };
  if (query.proxyJump !== undefined) applyProxyJump(state, { value: query.proxyJump, from: given });

  const files = readAll(source, ctx);
  const first: Pass = { final: false, hostForHostLines: query.host, wantFinal: false };
  evaluate(files, state, query, ctx, first);

  const hostname = finalHostName(state, query.host);
  if (first.wantFinal) {
    state.hostname = { value: hostname, from: state.hostname?.from ?? 'final pass' };
    evaluate(files, state, query, ctx, { final: true, hostForHostLines: hostname, wantFinal: false });
  }
  return finish(state, query, hostname, ctx);
}

// ---------------------------------------------------------------------------------------------------------
// Reading: every file once, Includes expanded into a tree so both passes walk the same directives.

type Node = { kind: 'directive'; directive: SshConfigDirective } | { kind: 'include'; directive: SshConfigDirective; files: FileNode[] };
interface FileNode {
  nodes: Node[];
}

function readAll(source: SshConfigSource, ctx: SshConfigContext): FileNode[] {
  const files: FileNode[] = [];
  for (const [path, userConf] of [
    [source.userFile, true],
    [source.systemFile, false],
  ] as const) {
    if (path === undefined) continue;
    const node = readFile(path, userConf, 0, source.reader, ctx);
    if (node) files.push(node);
  }
  return files;
}

function readFile(path: string, userConf: boolean, depth: number, reader: SshConfigReader, ctx: SshConfigContext): FileNode | undefined {
  const text = reader.read(path);
  if (text === undefined) return undefined;
  const shown = tildeName(path, ctx.home);
  const nodes: Node[] = lexSshConfig(text, shown).map((directive): Node => {
    if (directive.keyword !== 'include') return { kind: 'directive', directive };
    if (depth + 1 > MAX_INCLUDE_DEPTH) throw sshConfigError(directive.file, directive.line, `too many recursive Includes (more than ${MAX_INCLUDE_DEPTH})`);
    const included: FileNode[] = [];
    for (const arg of directive.args) {
      const expanded = expandTilde(arg, ctx.home);
      const pattern = expanded.startsWith('/') ? expanded : `${userConf ? `${ctx.home.replace(/\/+$/, '')}/.ssh` : SYSTEM_DIR}/${expanded}`;
      for (const match of reader.glob(pattern)) {
        const node = readFile(match, userConf, depth + 1, reader, ctx);
        if (node) included.push(node);
      }
    }
    return { kind: 'include', directive, files: included };
  });
  return { nodes };
}

function tildeName(path: string, home: string): string {
  const base = home.replace(/\/+$/, '');
  return base !== '' && path.startsWith(`${base}/`) ? `~${path.slice(base.length)}` : path;
}

// ---------------------------------------------------------------------------------------------------------
// Evaluating

function evaluate(files: FileNode[], state: Collected, query: SshConfigQuery, ctx: SshConfigContext, pass: Pass): void {
  for (const file of files) walk(file, true, false, state, query, ctx, pass);
}

/** One file: `active` is inherited from the including block; `neverMatch` when that block was inactive. */
function walk(file: FileNode, inherited: boolean, neverMatch: boolean, state: Collected, query: SshConfigQuery, ctx: SshConfigContext, pass: Pass): void {
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

/** A `Host` line: any positive pattern matches, unless a `!pattern` matches (case-sensitive, like match_pattern). */
function matchHostLine(host: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    if (!matchPattern(host, negated ? raw.slice(1) : raw)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** OpenSSH's match_pattern_list(): comma-separated, `!` vetoes; patterns lowercased when `lower`. */
function matchList(text: string, list: string, lower: boolean): boolean {
  let matched = false;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    let pattern = negated ? raw.slice(1) : raw;
    if (lower) pattern = pattern.toLowerCase();
    if (!matchPattern(text, pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function matchLine(d: SshConfigDirective, state: Collected, query: SshConfigQuery, ctx: SshConfigContext, pass: Pass, neverMatch: boolean): boolean {
  const args = [...d.args];
  let result = true;
  while (args.length > 0) {
    const raw = args.shift()!;
    const negate = raw.startsWith('!');
    const criterion = (negate ? raw.slice(1) : raw).toLowerCase();
    if (criterion === 'all') continue;
    if (criterion === 'canonical' || criterion === 'final') {
      if (criterion === 'final' && !pass.final) pass.wantFinal = true;
      if (pass.final === negate) result = false;
      continue;
    }
    const arg = args.shift();
    if (arg === undefined || arg === '') throw sshConfigError(d.file, d.line, `Match ${raw} needs an argument`);
    let matched: boolean;
    switch (criterion) {
      case 'host':
        matched = matchList(currentHostName(state, query, pass).toLowerCase(), arg, true);
        break;
      case 'originalhost':
        matched = matchList(query.host.toLowerCase(), arg, true);
        break;
      case 'user':
        matched = matchList(state.user?.value ?? ctx.defaultUser, arg, false);
        break;
      case 'localuser':
        matched = matchList(ctx.localUser, arg, false);
        break;
      case 'exec':
        // ssh skips the command when an earlier criterion already failed; shipit runs nothing from the file.
        if (result && !neverMatch) {
          throw new ShipitError('CONFIG_INVALID', `${d.file}:${d.line}: Match exec is not supported by shipit (it runs no command from the SSH config)`, {
            hint: 'Put the settings for these hosts under a `Host` block (or `Match host`), or give shipit its own file with --ssh-config.',
          });
        }
        matched = false;
        break;
      default:
        throw sshConfigError(d.file, d.line, `unsupported Match criterion "${raw}" (shipit supports all, host, originalhost, user, localuser, canonical, final)`);
    }
    if (matched === negate) result = false;
  }
  return result;
}

/** What `Match host` sees: HostName as far as known (with %h), else the host as written. */
function currentHostName(state: Collected, query: SshConfigQuery, pass: Pass): string {
  if (pass.final) return state.hostname?.value ?? query.host;
  if (!state.hostname) return query.host;
  const expanded = expandHostName(state.hostname.value, query.host);
  return expanded.ok ? expanded.value : state.hostname.value;
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
function apply(d: SshConfigDirective, active: boolean, state: Collected): void {
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
function applyProxyJump(state: Collected, value: Sourced<string>): void {
  if (state.proxyJump) return;
  if (value.value.toLowerCase() === 'none') {
    state.proxyJump = value;
    return;
  }
  if (state.proxyCommand) return;
  state.proxyJump = value;
  state.proxyCommand = { value: 'none', from: value.from };
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

// ---------------------------------------------------------------------------------------------------------
// Chains

export interface ResolvedSshChain {
  target: ResolvedSshHost;
  /** Jump hosts in connection order: connect to hops[0] first; the target is reached from the last one. */
  hops: ResolvedSshHost[];
}

/** More hops than anyone uses; a longer chain is a loop through configs (e.g. `Host *` with ProxyJump). */
export const MAX_JUMP_HOPS = 8;

/**
 * The target and every jump host before it, each resolved through the files like its own `ssh` would be:
 * ssh reaches the target via `ssh -J <earlier hops> -W target <last hop>`, so the last hop's user and port come
 * from the list (winning over its config), the earlier hops override its own ProxyJump, and the first hop's
 * own ProxyJump (if any) still applies.
 */
export function resolveSshChain(query: SshConfigQuery, source: SshConfigSource, ctx: SshConfigContext): ResolvedSshChain {
  const target = resolveSshHost(query, source, ctx);
  const hops: ResolvedSshHost[] = [];
  const seen = [endpointKey(target)];
  let current = target;
  while (current.proxyJump.length > 0) {
    const list = current.proxyJump;
    const last = list[list.length - 1]!;
    const hop = resolveSshHost(
      {
        host: last.host,
        user: last.user,
        port: last.port,
        proxyJump: list.length > 1 ? formatJumps(list.slice(0, -1)) : undefined,
        given: `ProxyJump ${formatJumps(list)}`,
      },
      source,
      ctx,
    );
    const key = endpointKey(hop);
    if (seen.includes(key) || hops.length >= MAX_JUMP_HOPS) {
      // Listed from the target backwards: each one is reached through the next.
      throw new ShipitError('CONFIG_INVALID', `ProxyJump loop for ${query.host}: ${[...seen, key].join(' via ')}`, {
        hint: `A jump host must not jump through itself: add \`ProxyJump none\` under \`Host ${last.host}\` in the SSH config, before any \`Host *\` that sets ProxyJump.`,
      });
    }
    seen.push(key);
    hops.unshift(hop);
    current = hop;
  }
  return { target, hops };
}

function endpointKey(host: ResolvedSshHost): string {
  return `${host.user}@${host.hostname}:${host.port}`;
}
