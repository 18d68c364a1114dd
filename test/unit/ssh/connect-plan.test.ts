// deploy.config + SSH config → the connections to make. deploy.config acts as ssh's command line: what it
// writes wins, its defaults do not. The SSH config here is in memory (the resolver is pure).
import type { HostTarget, SshConfig } from '../../../src/config/types.js';
import { describeConnection, planConnection } from '../../../src/ssh/connect-plan.js';
import { resolveSshChain } from '../../../src/ssh/ssh-chain.js';
import type { SshConfigContext, SshConfigSource } from '../../../src/ssh/ssh-config.js';

const SSH_CONFIG = `
Host web1
  HostName 10.213.37.11
  User ops
  Port 2222
  IdentityFile ~/.ssh/lab_%h

Host web4
  HostName 10.213.38.14
  User ops
  ProxyJump deploy@web1:22
  IdentitiesOnly yes
  IdentityFile ~/.ssh/isolated

Host keyed
  HostKeyAlias keyed-alias
`;

const source: SshConfigSource = {
  userFile: '/home/ci/.ssh/config',
  systemFile: undefined,
  reader: { read: (path) => (path === '/home/ci/.ssh/config' ? SSH_CONFIG : undefined), glob: () => [] },
};
const ctx: SshConfigContext = { home: '/home/ci', localUser: 'ci', uid: 1001, localHost: 'runner', env: {}, defaultUser: 'root' };
const resolve = (query: Parameters<typeof resolveSshChain>[0]) => resolveSshChain(query, source, ctx);

const ssh: SshConfig = {
  knownHostsFile: '/home/ci/.ssh/known_hosts',
  identityFiles: [],
  passphraseEnv: undefined,
  agent: true,
  connectTimeout: 10_000,
  keepaliveInterval: 5_000,
  commandTimeout: 120_000,
};

/** As the config schema makes it from 'web1', 'deploy@web1' or { host, user, port }. */
function host(name: string, options: { user?: string; port?: number } = {}): HostTarget {
  return {
    name,
    host: name,
    user: options.user ?? 'root',
    port: options.port ?? 22,
    written: { user: options.user !== undefined, port: options.port !== undefined },
  };
}

describe('planConnection', () => {
  it('takes HostName, User, Port and IdentityFile from the SSH config when deploy.config leaves them out', () => {
    const plan = planConnection(host('web1'), ssh, resolve);
    expect(plan.target).toEqual({ name: 'web1', host: '10.213.37.11', user: 'ops', port: 2222 });
    expect(plan.ssh.identityFiles).toEqual(['/home/ci/.ssh/lab_10.213.37.11']);
    expect(plan.jumps).toEqual([]);
    expect(describeConnection(plan)).toBe('web1: ops@10.213.37.11:2222');
  });

  it('lets a user and port written in deploy.config win (like ssh -l / -p)', () => {
    expect(planConnection(host('web1', { user: 'deploy', port: 22 }), ssh, resolve).target).toEqual({ name: 'web1', host: '10.213.37.11', user: 'deploy', port: 22 });
  });

  it('keeps shipit defaults (root, 22, its own identities) for a host the SSH config does not mention', () => {
    const plan = planConnection(host('db.example.com'), ssh, resolve);
    expect(plan.target).toEqual({ name: 'db.example.com', host: 'db.example.com', user: 'root', port: 22 });
    expect(plan.ssh).toEqual({ ...ssh, identitiesOnly: false });
  });

  it('offers deploy.config identity files first, then the SSH config ones; IdentitiesOnly is passed on per host', () => {
    const plan = planConnection(host('web4', { user: 'deploy' }), { ...ssh, identityFiles: ['/keys/ci'] }, resolve);
    expect(plan.ssh.identityFiles).toEqual(['/keys/ci', '/home/ci/.ssh/isolated']);
    expect(plan.ssh).toMatchObject({ agent: true, identitiesOnly: true });
    expect(plan.jumps[0]!.ssh.identitiesOnly).toBe(false);
  });

  it('plans jump hosts in connection order, each resolved through the SSH config with its own identities', () => {
    const plan = planConnection(host('web4', { user: 'deploy' }), ssh, resolve);
    expect(plan.target).toEqual({ name: 'web4', host: '10.213.38.14', user: 'deploy', port: 22 });
    expect(plan.jumps.map((j) => j.target)).toEqual([{ name: 'web1', host: '10.213.37.11', user: 'deploy', port: 22 }]);
    expect(plan.jumps[0]!.ssh.identityFiles).toEqual(['/home/ci/.ssh/lab_10.213.37.11']);
    expect(plan.jumps[0]!.ssh).toMatchObject({ agent: true, identitiesOnly: false });
    expect(describeConnection(plan)).toBe('web4: deploy@10.213.38.14:22 via deploy@web1 (10.213.37.11:22)');
  });

  it('passes HostKeyAlias on, and treats a host without `written` as fully explicit (older callers)', () => {
    expect(planConnection(host('keyed'), ssh, resolve).hostKeyAlias).toBe('keyed-alias');
    const { written: _written, ...legacy } = host('web1');
    expect(planConnection(legacy, ssh, resolve).target).toEqual({ name: 'web1', host: '10.213.37.11', user: 'root', port: 22 });
  });
});
