/**
 * Which blocks of an SSH config apply to a host, as OpenSSH decides (readconf.c, match.c):
 * - `Host` patterns match the host as written, case-sensitively (match_pattern), any `!pattern` vetoes;
 * - `Match` criteria all must hold: all, canonical/final (true only in the final pass; `final` asks for one),
 *   host (HostName as far as known, lowercased), originalhost, user (the user so far, else the default),
 *   localuser; `!` negates one; `exec` is refused where ssh would run it.
 */
import { ShipitError } from '../lib/errors.js';
import { matchPattern } from './known-hosts.js';
import { sshConfigError, type SshConfigDirective } from './ssh-config-lexer.js';
import type { Sourced, SshConfigContext, SshConfigQuery } from './ssh-config.js';
import { expandHostName } from './ssh-tokens.js';

/** One walk over the files. */
export interface Pass {
  final: boolean;
  /** What `Host` lines match: the host as written, or in the final pass the resolved HostName. */
  hostForHostLines: string;
  /** Set by a `Match final` seen during the first pass. */
  wantFinal: boolean;
}

/** What `Match` looks at among the values collected so far. */
export interface MatchState {
  hostname?: Sourced<string>;
  user?: Sourced<string>;
}

/** A `Host` line: any positive pattern matches, unless a `!pattern` matches (case-sensitive, like match_pattern). */
export function matchHostLine(host: string, patterns: readonly string[]): boolean {
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

export function matchLine(d: SshConfigDirective, state: MatchState, query: SshConfigQuery, ctx: SshConfigContext, pass: Pass, neverMatch: boolean): boolean {
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
function currentHostName(state: MatchState, query: SshConfigQuery, pass: Pass): string {
  if (pass.final) return state.hostname?.value ?? query.host;
  if (!state.hostname) return query.host;
  const expanded = expandHostName(state.hostname.value, query.host);
  return expanded.ok ? expanded.value : state.hostname.value;
}
