/**
 * The jump hosts in front of a host (ProxyJump), each resolved through the SSH config like the `ssh` that
 * OpenSSH runs for it, in connection order. A chain that comes back to a host already in it is a loop (the
 * classic `Host *` + ProxyJump without `ProxyJump none` for the bastion) and is refused with that fix.
 */
import { ShipitError } from '../lib/errors.js';
import { formatJumps } from './proxy-jump.js';
import { resolveSshHost, type ResolvedSshHost, type SshConfigContext, type SshConfigQuery, type SshConfigSource } from './ssh-config.js';

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
