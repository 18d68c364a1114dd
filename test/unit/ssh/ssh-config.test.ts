// ssh_config resolution checked against OpenSSH itself: for every case, `ssh -G -F <file> [-l u] [-p p] [-J j]
// <host>` (what ssh would use) must agree with resolveSshHost, and the IdentityFile token expansion must agree
// with the paths `ssh -v` reports loading. The ssh client must be installed (scripts/setup.sh): no skipping.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { ShipitError } from '../../../src/lib/errors.js';
import { formatJumps, parseProxyJump } from '../../../src/ssh/proxy-jump.js';
import { resolveSshChain } from '../../../src/ssh/ssh-chain.js';
import { resolveSshHost, type SshConfigContext, type SshConfigQuery, type SshConfigSource } from '../../../src/ssh/ssh-config.js';
import { fileReader, globFiles, sshConfigSource } from '../../../src/ssh/ssh-config-files.js';
import { expandTilde, expandTokens } from '../../../src/ssh/ssh-tokens.js';
import { makeTempDir } from './support/keygen.js';

let tmp: ReturnType<typeof makeTempDir>;
let counter = 0;
const me = userInfo();
/** As ssh sees this machine: the oracle runs as the same user, so the default user is the local one. */
const ctx = (): SshConfigContext => ({
  home: me.homedir,
  localUser: me.username,
  uid: me.uid,
  localHost: hostname(),
  env: { ...process.env, SHIPIT_TEST_KEYS: '/keys' },
  defaultUser: me.username,
});

beforeAll(() => {
  tmp = makeTempDir('shipit-ssh-config-');
});
afterAll(() => tmp.cleanup());

/** Writes a config (and extra files relative to the temp dir); `@` in the text stands for the temp dir. */
function configFile(text: string, extra: Record<string, string> = {}): string {
  const dir = join(tmp.dir, `case${++counter}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(extra)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), body.replaceAll('@DIR', dir));
  }
  const file = join(dir, 'config');
  writeFileSync(file, text.replaceAll('@DIR', dir));
  return file;
}

function source(file: string): SshConfigSource {
  return { userFile: file, systemFile: undefined, reader: fileReader };
}

function cliArgs(query: SshConfigQuery): string[] {
  return [
    ...(query.user ? ['-l', query.user] : []),
    ...(query.port ? ['-p', String(query.port)] : []),
    ...(query.proxyJump ? ['-J', query.proxyJump] : []),
  ];
}

/** `ssh -G`: every key with its values, in order. */
function sshG(file: string, query: SshConfigQuery): Map<string, string[]> {
  const out = execFileSync('ssh', ['-G', '-F', file, ...cliArgs(query), query.host], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const map = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const space = line.indexOf(' ');
    if (space === -1) continue;
    const key = line.slice(0, space);
    map.set(key, [...(map.get(key) ?? []), line.slice(space + 1)]);
  }
  return map;
}

const DEFAULT_IDENTITY_FILES = ['~/.ssh/id_rsa', '~/.ssh/id_ecdsa', '~/.ssh/id_ecdsa_sk', '~/.ssh/id_ed25519', '~/.ssh/id_ed25519_sk', '~/.ssh/id_xmss', '~/.ssh/id_dsa'];

/** What ssh -G says, in resolveSshHost's terms (identity files expanded with our expansion: see the -v oracle). */
function oracle(file: string, query: SshConfigQuery) {
  const g = sshG(file, query);
  const one = (key: string) => g.get(key)?.[0];
  const resolved = one('hostname')!;
  const user = one('user')!;
  const port = Number(one('port'));
  const raw = g.get('identityfile') ?? [];
  const explicit = raw.join('\n') === DEFAULT_IDENTITY_FILES.join('\n') ? [] : raw;
  const values = { hostname: resolved, originalHost: query.host, port, remoteUser: user, localUser: me.username, home: me.homedir, uid: me.uid, localHost: hostname(), keyAlias: one('hostkeyalias') ?? query.host };
  return {
    hostname: resolved,
    user,
    port,
    identityFiles: explicit.map((f) => {
      const r = expandTokens(expandTilde(f, me.homedir), values, ctx().env);
      return r.ok ? r.value : `(${r.reason})`;
    }),
    identitiesOnly: one('identitiesonly') === 'yes',
    hostKeyAlias: one('hostkeyalias'),
    proxyJump: normalJumps(one('proxyjump') ?? 'none'),
  };
}

/** ssh -G prints the last hop rebuilt from its parts (ssh:// dropped): compare the parts. */
function normalJumps(value: string): string[] {
  const parsed = parseProxyJump(value);
  if (!parsed.ok) return [`(${parsed.reason})`];
  return parsed.hops.map((h) => `${h.user ?? ''}@${h.host}:${h.port ?? ''}`);
}

function ours(file: string, query: SshConfigQuery) {
  const r = resolveSshHost(query, source(file), ctx());
  return {
    hostname: r.hostname,
    user: r.user,
    port: r.port,
    identityFiles: r.identityFiles.map((f) => f.value),
    identitiesOnly: r.identitiesOnly,
    hostKeyAlias: r.hostKeyAlias,
    proxyJump: normalJumps(formatJumps(r.proxyJump) || 'none'),
  };
}

function expectSameAsSsh(file: string, queries: Array<SshConfigQuery | string>): void {
  for (const q of queries) {
    const query = typeof q === 'string' ? { host: q } : q;
    expect({ query, ...ours(file, query) }).toEqual({ query, ...oracle(file, query) });
  }
}

describe('resolveSshHost agrees with ssh -G', () => {
  it('resolves an alias through Host/HostName/User/Port/IdentityFile/IdentitiesOnly', () => {
    const file = configFile(`
Host web1
  HostName 10.213.37.11
  User deploy
  Port 2222
  IdentityFile ~/.ssh/lab_%h_%r
  IdentitiesOnly yes
`);
    expectSameAsSsh(file, ['web1', 'web2', { host: 'web1', user: 'root' }, { host: 'web1', port: 22 }]);
    expect(ours(file, { host: 'web1' })).toMatchObject({ hostname: '10.213.37.11', user: 'deploy', port: 2222, identitiesOnly: true });
  });

  it('keeps the first value obtained; IdentityFile accumulates (duplicates once); Host * defaults last', () => {
    const file = configFile(`
Host web*
  User first
  IdentityFile /k/one
Host web1 db1
  User second
  Port 2201
  IdentityFile /k/two
  IdentityFile /k/one
Host *
  User fallback
  Port 22
  IdentityFile /k/three
  IdentitiesOnly no
`);
    expectSameAsSsh(file, ['web1', 'web2', 'db1', 'other']);
  });

  it('matches Host patterns like ssh: wildcards, ?, !negation vetoes, case-sensitive', () => {
    const file = configFile(`
Host *.prod !bastion.prod
  User prod
Host web? WEB9
  Port 2200
Host !db* *
  HostName %h.example.net
`);
    expectSameAsSsh(file, ['a.prod', 'bastion.prod', 'web1', 'web10', 'WEB9', 'Web9', 'db1', 'cache']);
  });

  it('lexes like ssh: Key=Value, quotes, escapes, comments, tabs, keywords in any case', () => {
    const file = configFile(
      [
        '# comment',
        'Host=web1 "other"   # trailing comment',
        '  hostNAME = 10.0.0.1',
        '  User=a#b',
        '\tPort\t2022',
        '  IdentityFile "/k/with space" ',
        "  IdentityFile '/k/single'",
        '  IdentityFile /k/esc\\ aped # c',
        '',
      ].join('\n'),
    );
    expectSameAsSsh(file, ['web1', 'other']);
  });

  it('follows Include: globs in order, inside a Host block it stays inside it, nested', () => {
    const file = configFile(
      `
Host web1
  Include @DIR/conf.d/*.conf
  HostName 10.0.0.1
Host web2
  Include @DIR/nested
Host *
  User last
`,
      {
        'conf.d/10-first.conf': 'User from-10\nHost web2\n  Port 2002\n',
        'conf.d/20-second.conf': 'Port 1111\nUser from-20\n',
        'conf.d/.hidden.conf': 'Port 9999\n',
        'conf.d/other.txt': 'Port 8888\n',
        nested: 'Include @DIR/deeper\n',
        deeper: 'User deep\n',
      },
    );
    expectSameAsSsh(file, ['web1', 'web2', 'web3']);
    expect(ours(file, { host: 'web1' })).toMatchObject({ user: 'from-10', port: 1111, hostname: '10.0.0.1' });
  });

  it('evaluates Match host (after HostName), originalhost, user, localuser, negation, all', () => {
    const file = configFile(`
Host alias
  HostName Real.Example.COM
Match host real.example.com
  User via-hostname
Match originalhost alias user bob
  Port 4444
Match localuser ${me.username} !host 10.*
  IdentityFile /k/local
Match !originalhost alias
  Port 2020
Match all
  User everyone
`);
    expectSameAsSsh(file, ['alias', { host: 'alias', user: 'bob' }, 'other', '10.1.2.3', { host: 'other', user: 'bob' }]);
  });

  it('does the final pass for Match final: Host lines then match the resolved HostName', () => {
    const file = configFile(`
Host short
  HostName long.example
Host long.example
  User via-final-pass
Match final
  IdentityFile /k/final-%h
Match final host long.example
  Port 7777
Match canonical
  IdentitiesOnly yes
`);
    expectSameAsSsh(file, ['short', 'long.example', 'third']);
    const noFinal = configFile('Host short\n  HostName long.example\nHost long.example\n  User not-applied\n');
    expectSameAsSsh(noFinal, ['short']);
  });

  it('applies ProxyJump like ssh: first wins, none disables, -J wins, ProxyCommand/ProxyJump exclusion', () => {
    const file = configFile(`
Host bastion
  ProxyJump none
Host web4
  ProxyJump deploy@bastion:2222,ssh://jump2
Host pc
  ProxyCommand none
Host *
  ProxyJump bastion
`);
    expectSameAsSsh(file, ['bastion', 'web4', 'pc', 'other', { host: 'web4', proxyJump: 'none' }, { host: 'other', proxyJump: 'x@y:3' }]);
    expect(resolveSshHost({ host: 'web4' }, source(file), ctx()).proxyJump).toEqual([
      { text: 'deploy@bastion:2222', user: 'deploy', host: 'bastion', port: 2222 },
      { text: 'ssh://jump2', user: undefined, host: 'jump2', port: undefined },
    ]);
  });

  it('expands %h in HostName and lowercases the result', () => {
    const file = configFile('Host *.short\n  HostName %h.Example.ORG\n');
    expectSameAsSsh(file, ['web.short', 'WEB.short', 'plain']);
  });
});

describe('IdentityFile tokens agree with the files ssh -v loads', () => {
  /** The identity files ssh would load, from its debug log (a ProxyCommand that never answers: no network). */
  function sshLoads(file: string, host: string, env: NodeJS.ProcessEnv): string[] {
    const result = spawnSync('ssh', ['-v', '-F', file, '-o', 'BatchMode=yes', '-o', 'ProxyCommand=sleep 0.3', '-o', 'ProxyJump=none', host, 'true'], {
      encoding: 'utf8',
      env,
      timeout: 10_000,
    });
    return [...result.stderr.matchAll(/^debug1: identity file (.*) type -?\d+$/gm)].map((m) => m[1]!).filter((f) => !f.endsWith('-cert'));
  }

  it('expands ~, %% %C %L %i %k %l %d %h %n %p %r %u and ${VAR} like ssh', () => {
    const file = configFile(`
Host t
  HostName Real.Host
  User u1
  Port 2222
  HostKeyAlias kalias
  IdentityFile /k/%C/%k/%i/%L/%l/%d/%h/%n/%p/%r/%u/100%%
  IdentityFile \${SHIPIT_TEST_KEYS}/id
  IdentityFile ~/rel
Host u
  IdentityFile /k/%k-%h-%r
`);
    const env = { ...process.env, SHIPIT_TEST_KEYS: '/keys' };
    for (const host of ['t', 'u']) {
      expect(resolveSshHost({ host }, source(file), ctx()).identityFiles.map((f) => f.value)).toEqual(sshLoads(file, host, env));
    }
  });

  it('refuses what ssh refuses: unknown tokens, unset variables', () => {
    const unknown = configFile('Host t\n  IdentityFile /k/%j\n');
    expect(() => resolveSshHost({ host: 't' }, source(unknown), ctx())).toThrow(/config:2: IdentityFile: unknown token %j/);
    const unset = configFile('Host t\n  IdentityFile ${SHIPIT_NOT_SET_ANYWHERE}/k\n');
    expect(() => resolveSshHost({ host: 't' }, source(unset), ctx())).toThrow(/SHIPIT_NOT_SET_ANYWHERE\} is not set/);
  });
});

describe('resolveSshChain: every hop resolved like the ssh that ProxyJump runs', () => {
  it('resolves hops as `ssh -G [-l user] [-p port] [-J earlier] <last hop>` would, in connection order', () => {
    const file = configFile(`
Host web4
  HostName 10.213.38.14
  ProxyJump ops@bastion1,jump2:2200
Host bastion1
  HostName 10.0.0.1
  User nobody-wins
Host jump2
  HostName 10.0.0.2
  User jumper
  ProxyJump this-is-overridden
Host single
  ProxyJump bastion1
Host bastion1
  ProxyJump deeper
Host deeper
  HostName 10.0.0.9
`);
    const chain = resolveSshChain({ host: 'web4', user: 'deploy' }, source(file), ctx());
    // bastion1, the first hop, is reached with its own config: its ProxyJump (deeper) still applies.
    expect([...chain.hops, chain.target].map((h) => `${h.user}@${h.hostname}:${h.port}`)).toEqual([
      `${me.username}@10.0.0.9:22`,
      'ops@10.0.0.1:22',
      'jumper@10.0.0.2:2200',
      'deploy@10.213.38.14:22',
    ]);
    // Each hop is what ssh resolves for the sub-ssh ProxyJump runs.
    expect(ours(file, { host: 'jump2', port: 2200, proxyJump: 'ops@bastion1' })).toEqual(oracle(file, { host: 'jump2', port: 2200, proxyJump: 'ops@bastion1' }));
    expect(ours(file, { host: 'bastion1', user: 'ops' })).toEqual(oracle(file, { host: 'bastion1', user: 'ops' }));

    // A lone hop keeps its own ProxyJump: single -> bastion1 -> deeper.
    const single = resolveSshChain({ host: 'single' }, source(file), ctx());
    expect(single.hops.map((h) => h.hostname)).toEqual(['10.0.0.9', '10.0.0.1']);
  });

  it('reports a loop (Host * with ProxyJump and no `ProxyJump none` for the bastion) with the fix', () => {
    const file = configFile('Host *\n  ProxyJump bastion\n');
    let error: unknown;
    try {
      resolveSshChain({ host: 'web1' }, source(file), ctx());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ShipitError);
    expect((error as ShipitError).message).toMatch(/ProxyJump loop for web1: .*@web1:22 via .*@bastion:22 via .*@bastion:22/);
    expect((error as ShipitError).hint).toMatch(/ProxyJump none.*Host bastion/);
  });
});

describe('errors name the file and line', () => {
  const resolve = (text: string, host = 'web1') => () => resolveSshHost({ host }, source(configFile(text)), ctx());

  it.each([
    ['Port abc\n', /config:1: Port "abc" is not a port number/],
    ['Host web1\n  User "unclosed\n', /config:2: invalid quotes/],
    ['Host web1\n  HostName\n', /config:2: no argument after keyword "HostName"/],
    ['Host web1\n  ProxyJump a@b:99999\n', /config:2: invalid ProxyJump: "a@b:99999" .*bad port/],
    ['Match exec "true"\n  User x\n', /config:1: Match exec is not supported/],
    ['Match nosuch x\n', /config:1: unsupported Match criterion "nosuch"/],
    ['Host web1\n  ProxyCommand nc %h %p\n', /config:2: ProxyCommand applies to web1, and shipit cannot run it/],
    ['IdentitiesOnly maybe\n', /config:1: identitiesonly: expected yes or no/],
  ])('%j', (text, message) => {
    expect(resolve(text)).toThrow(message);
    // ssh refuses the same files (exit 255), except ProxyCommand and Match exec, which it would run.
    if (!/ProxyCommand|exec/.test(text)) {
      const result = spawnSync('ssh', ['-G', '-F', configFile(text), 'web1'], { encoding: 'utf8' });
      expect(result.status).toBe(255);
    }
  });

  it('skips Match exec whose earlier criterion failed, as ssh does (the command never runs)', () => {
    expect(resolve('Match host other exec "false"\n  User x\n')()).toMatchObject({ user: me.username });
  });
});

describe('the files read', () => {
  it('reads ~/.ssh/config then /etc/ssh/ssh_config by default, only the given file with --ssh-config, none with "none"', () => {
    expect(sshConfigSource(undefined, '/home/u')).toMatchObject({ userFile: '/home/u/.ssh/config', systemFile: '/etc/ssh/ssh_config' });
    const file = configFile('Host x\n');
    expect(sshConfigSource(file, '/home/u')).toMatchObject({ userFile: file, systemFile: undefined });
    expect(sshConfigSource('none', '/home/u')).toMatchObject({ userFile: undefined, systemFile: undefined });
    expect(() => sshConfigSource(join(tmp.dir, 'missing'), '/home/u')).toThrow(/SSH config file .*missing does not exist/);
  });

  it('resolves a relative Include in ~/.ssh (the user file) and in /etc/ssh (the system file)', () => {
    const home = join(tmp.dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'config'), 'Include hosts.d/*\n');
    mkdirSync(join(home, '.ssh', 'hosts.d'));
    writeFileSync(join(home, '.ssh', 'hosts.d', 'lab'), 'Host web1\n  HostName 10.213.37.11\n');
    const read: string[] = [];
    const reader = { read: (p: string) => (read.push(p), fileReader.read(p)), glob: globFiles };
    const resolved = resolveSshHost({ host: 'web1' }, { userFile: join(home, '.ssh', 'config'), systemFile: '/nonexistent/ssh_config', reader }, { ...ctx(), home });
    expect(resolved.hostname).toBe('10.213.37.11');
    expect(resolved.sources.hostname).toBe('~/.ssh/hosts.d/lab:2');
    expect(read).toEqual([join(home, '.ssh', 'config'), join(home, '.ssh', 'hosts.d', 'lab'), '/nonexistent/ssh_config']);
  });

  it('globs like glob(3): sorted, no dotfiles unless asked, [] classes, directories skipped', () => {
    const dir = join(tmp.dir, 'globs');
    mkdirSync(join(dir, 'sub.d'), { recursive: true });
    for (const name of ['b.conf', 'a.conf', '.hidden.conf', 'c1', 'c2', 'c3']) writeFileSync(join(dir, name), '');
    expect(globFiles(`${dir}/*.conf`)).toEqual([`${dir}/a.conf`, `${dir}/b.conf`]);
    expect(globFiles(`${dir}/c[12]`)).toEqual([`${dir}/c1`, `${dir}/c2`]);
    expect(globFiles(`${dir}/c[!12]`)).toEqual([`${dir}/c3`]);
    expect(globFiles(`${dir}/*`)).not.toContain(`${dir}/sub.d`);
    expect(globFiles(`${dir}/.h*`)).toEqual([`${dir}/.hidden.conf`]);
    expect(globFiles(`${dir}/none*`)).toEqual([]);
  });
});
