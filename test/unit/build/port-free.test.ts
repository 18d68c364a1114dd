// The "port is free" prerequisite, run by /bin/sh against /proc/net/tcp{,6} tables written here and, for the
// app's own socket, a unit file written here too. `ss` is a script written here (first on PATH), so that what the
// machine running the tests listens on never matters: by default it fails as an ss that cannot ask the kernel
// would, and the tables decide.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedConfig } from '../../../src/config/types.js';
import { prerequisites } from '../../../src/build/release.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const v4 = (local: string, state: string) => `   0: ${local} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0`;
const v6 = (local: string, state: string) => `   0: ${local} 00000000000000000000000000000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0`;

function portCheck(port: number, bind: string) {
  const config = { app: 'shop', server: { port, bind, preset: 'command', module: 'serve' } } as unknown as ResolvedConfig;
  const found = prerequisites(config).find((p) => p.message.startsWith(`port ${port} `));
  if (found === undefined) throw new Error('no port prerequisite');
  return found;
}

describe('the prerequisite "the port is free"', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipit-port-'));
    mkdirSync(join(dir, 'bin'));
    // sshd on every address, port 22 (0x16), v4 and v6; a service on 127.0.0.1:5432 (0x1538); a client
    // connection from port 8000 (established, 01: not a listener); the app's own socket on 8000 when $OWN is set.
    writeFileSync(join(dir, 'tcp'), [HEADER, v4('00000000:0016', '0A'), v4('0100007F:1538', '0A'), v4('0100007F:1F40', '01')].join('\n') + '\n');
    // ...and something on [::1]:9000 (0x2328), IPv6 loopback only.
    writeFileSync(join(dir, 'tcp6'), [HEADER, v6('00000000000000000000000000000000:0016', '0A'), v6('00000000000000000000000001000000:2328', '0A')].join('\n') + '\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The `ss` found first on PATH: `body` (default: exit 1, an ss that cannot ask the kernel); logs its arguments. */
  const writeSs = (body = 'exit 1') => {
    writeFileSync(join(dir, 'bin', 'ss'), `#!/bin/sh\nprintf '%s|' "$@" > "${dir}/ss.args"\n${body}\n`);
    chmodSync(join(dir, 'bin', 'ss'), 0o755);
  };

  /** `own`: the line of the app's socket unit that says where it listens (none: no unit file). `ss`: see writeSs. */
  const free = (port: number, bind: string, own?: string, ss?: string) => {
    rmSync(join(dir, 'shop.socket'), { force: true });
    rmSync(join(dir, 'ss.args'), { force: true });
    writeSs(ss);
    if (own !== undefined) writeFileSync(join(dir, 'shop.socket'), `[Socket]\n# ListenStream=${port} in a comment is not it\n${own}\nBacklog=4096\n`);
    const check = portCheck(port, bind).check.replace('/proc/net/tcp /proc/net/tcp6', `${dir}/tcp ${dir}/tcp6`).replaceAll('/etc/systemd/system/', `${dir}/`);
    const r = spawnSync('/bin/sh', ['-c', `A=shop; ( ${check} )`], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` } });
    expect(r.stderr).toBe('');
    return r.status === 0;
  };

  it('refuses a port another service listens on, whichever address either side uses when one is a wildcard', () => {
    expect(free(22, '0.0.0.0')).toBe(false);
    expect(free(22, '::')).toBe(false);
    expect(free(22, '10.0.0.5')).toBe(false);
    expect(free(5432, '0.0.0.0')).toBe(false);
    expect(free(5432, '127.0.0.1')).toBe(false);
  });

  it('accepts a free port, a connection that merely uses the port, another specific address, and the app\'s own socket', () => {
    expect(free(8000, '0.0.0.0')).toBe(true);
    expect(free(5432, '10.0.0.5')).toBe(true);
    expect(free(22, '0.0.0.0', 'ListenStream=0.0.0.0:22')).toBe(true);
    expect(free(22, '::', 'ListenStream=[::]:22')).toBe(true);
    expect(free(22, '0.0.0.0', 'ListenStream=22')).toBe(true);
    // Its socket moving to a port another service holds: the old port in its unit file does not make it ours.
    expect(free(22, '0.0.0.0', 'ListenStream=0.0.0.0:2222')).toBe(false);
    // An IPv4 bind does not clash with an IPv6-only listener; a dual-stack one ('::') does.
    expect(free(9000, '0.0.0.0')).toBe(true);
    expect(free(9000, '::')).toBe(false);
  });

  it("takes ss's empty answer for listeners on the port as free, without reading the tables", () => {
    // The tables say sshd holds 22; an ss that finds no listener there is believed (it asks the kernel directly).
    expect(free(22, '0.0.0.0', undefined, 'exit 0')).toBe(true);
    expect(readFileSync(join(dir, 'ss.args'), 'utf8')).toBe('-Htn|state|listening|sport = :22|');
  });

  it('reads the tables when ss names a listener on the port, or fails, or is not there', () => {
    // A listener on the port may be on another specific address (free) or not (taken): the tables tell.
    const listener = "echo '0      128      127.0.0.1:5432      0.0.0.0:*'";
    expect(free(5432, '10.0.0.5', undefined, listener)).toBe(true);
    expect(free(5432, '127.0.0.1', undefined, listener)).toBe(false);
    expect(free(22, '0.0.0.0', undefined, 'exit 1')).toBe(false);
    expect(free(22, '0.0.0.0', undefined, "echo 'ss: no such state' >&2; exit 1")).toBe(false);
    // No ss at all: a PATH with awk alone.
    mkdirSync(join(dir, 'awk-only'), { recursive: true });
    rmSync(join(dir, 'awk-only', 'awk'), { force: true });
    symlinkSync(execFileSync('/bin/sh', ['-c', 'command -v awk'], { encoding: 'utf8' }).trim(), join(dir, 'awk-only', 'awk'));
    const run = (port: number) => {
      const check = portCheck(port, '0.0.0.0').check.replace('/proc/net/tcp /proc/net/tcp6', `${dir}/tcp ${dir}/tcp6`);
      return spawnSync('/bin/sh', ['-c', `A=shop; ( ${check} )`], { encoding: 'utf8', env: { PATH: join(dir, 'awk-only') } });
    };
    expect(run(22).status).toBe(1);
    expect(run(8000).status).toBe(0);
    expect(run(8000).stderr).toBe('');
  });

  it('says which port and how to find who holds it', () => {
    expect(portCheck(22, '0.0.0.0').message).toBe(
      "port 22 is already in use on this host by another service (`ss -ltnp 'sport = :22'` names it): choose another server.port, or stop that service",
    );
  });

  it("names another app's socket unit that holds the port, the app's own aside, and only when the port is taken", () => {
    rmSync(join(dir, 'shop.socket'), { force: true });
    writeSs();
    // Another app's socket on 22, which the tables say is taken; and one on 5432 with 127.0.0.1.
    writeFileSync(join(dir, 'api.socket'), '[Socket]\nListenStream=0.0.0.0:22\n');
    writeFileSync(join(dir, 'db.socket'), '[Socket]\nListenStream=127.0.0.1:5432\n');
    const prerequisite = portCheck(22, '0.0.0.0');
    const run = (port: number, bind: string) => {
      const check = portCheck(port, bind).check.replace('/proc/net/tcp /proc/net/tcp6', `${dir}/tcp ${dir}/tcp6`).replaceAll('/etc/systemd/system/', `${dir}/`);
      return spawnSync('/bin/sh', ['-c', `A=shop; ( ${check} )`], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` } });
    };
    try {
      expect(run(22, '0.0.0.0')).toMatchObject({ status: 2, stdout: 'api.socket', stderr: '' });
      expect(run(5432, '127.0.0.1')).toMatchObject({ status: 2, stdout: 'db.socket' });
      // Free ports stay free, whatever a unit file says; a listener no socket unit names is the plain message's.
      expect(run(5432, '10.0.0.5')).toMatchObject({ status: 0, stdout: '' });
      expect(run(8000, '0.0.0.0')).toMatchObject({ status: 0, stdout: '' });
      rmSync(join(dir, 'api.socket'));
      expect(run(22, '0.0.0.0')).toMatchObject({ status: 1, stdout: '' });
      expect(prerequisite.messages?.[2]).toBe(
        "port 22 is already in use on this host by {out} (`systemctl cat {out}` shows it): give each app on a host its own server.port",
      );
    } finally {
      rmSync(join(dir, 'api.socket'), { force: true });
      rmSync(join(dir, 'db.socket'), { force: true });
    }
  });
});
