/**
 * From a host of deploy.config to the SSH connection(s) that reach it, with the SSH config applied the way
 * `ssh` applies it: deploy.config plays ssh's command line (a user or port written there wins; defaults do
 * not), then ~/.ssh/config (or --ssh-config) supplies HostName, User, Port, IdentityFile, IdentitiesOnly,
 * HostKeyAlias and ProxyJump, for the target and for every jump host on the way.
 *
 * Identities per connection: deploy.config's ssh.identityFiles first (like `ssh -i`), then the IdentityFiles
 * the SSH config gives that host; with neither, shipit's defaults (agent, ~/.ssh/id_*). IdentitiesOnly yes
 * limits the agent to those files' keys. Pure: the SSH config comes in as a resolver.
 */
import type { HostTarget, SshConfig } from '../config/types.js';
import type { EndpointSshConfig, JumpHop } from './connect.js';
import type { ResolvedSshChain } from './ssh-chain.js';
import type { ResolvedSshHost, SshConfigQuery } from './ssh-config.js';

export interface ConnectPlan {
  /** The host to reach: its display name unchanged, host/user/port as resolved. */
  target: HostTarget;
  ssh: EndpointSshConfig;
  hostKeyAlias: string | undefined;
  /** In connection order. */
  jumps: JumpHop[];
}

export type ResolveSshChain = (query: SshConfigQuery) => ResolvedSshChain;

export const GIVEN_BY_DEPLOY_CONFIG = 'deploy config';

export function planConnection(host: HostTarget, ssh: SshConfig, resolveChain: ResolveSshChain): ConnectPlan {
  const written = host.written ?? { user: true, port: true };
  const chain = resolveChain({
    host: host.host,
    user: written.user ? host.user : undefined,
    port: written.port ? host.port : undefined,
    given: GIVEN_BY_DEPLOY_CONFIG,
  });
  return {
    target: { name: host.name, host: chain.target.hostname, user: chain.target.user, port: chain.target.port },
    ssh: endpointSsh(ssh, chain.target),
    hostKeyAlias: chain.target.hostKeyAlias,
    jumps: chain.hops.map((hop) => ({
      target: { name: hop.host, host: hop.hostname, user: hop.user, port: hop.port },
      ssh: endpointSsh(ssh, hop),
      hostKeyAlias: hop.hostKeyAlias,
    })),
  };
}

function endpointSsh(ssh: SshConfig, resolved: ResolvedSshHost): EndpointSshConfig {
  const fromSshConfig = resolved.identityFiles.map((f) => f.value).filter((f) => !ssh.identityFiles.includes(f));
  return { ...ssh, identityFiles: [...ssh.identityFiles, ...fromSshConfig], identitiesOnly: resolved.identitiesOnly };
}

/** One line for --verbose: `web4: deploy@10.213.38.14:22 via deploy@web1 (10.213.37.11:22)`. */
export function describeConnection(plan: ConnectPlan): string {
  const at = (t: HostTarget) => `${t.user}@${t.host}:${t.port}`;
  const via = plan.jumps.map((j) => (j.target.name === j.target.host ? at(j.target) : `${j.target.user}@${j.target.name} (${j.target.host}:${j.target.port})`));
  return `${plan.target.name}: ${at(plan.target)}${via.length > 0 ? ` via ${via.join(', then ')}` : ''}`;
}
