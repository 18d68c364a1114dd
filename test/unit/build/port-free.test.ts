// The "port is free" prerequisite, run by /bin/sh against /proc/net/tcp{,6} tables written here and, for the
// app's own socket, a unit file written here too.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    // sshd on every address, port 22 (0x16), v4 and v6; a service on 127.0.0.1:5432 (0x1538); a client
    // connection from port 8000 (established, 01: not a listener); the app's own socket on 8000 when $OWN is set.
    writeFileSync(join(dir, 'tcp'), [HEADER, v4('00000000:0016', '0A'), v4('0100007F:1538', '0A'), v4('0100007F:1F40', '01')].join('\n') + '\n');
    // ...and something on [::1]:9000 (0x2328), IPv6 loopback only.
    writeFileSync(join(dir, 'tcp6'), [HEADER, v6('00000000000000000000000000000000:0016', '0A'), v6('00000000000000000000000001000000:2328', '0A')].join('\n') + '\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `own`: the line of the app's socket unit that says where it listens (none: no unit file). */
  const free = (port: number, bind: string, own?: string) => {
    rmSync(join(dir, 'shop.socket'), { force: true });
    if (own !== undefined) writeFileSync(join(dir, 'shop.socket'), `[Socket]\n# ListenStream=${port} in a comment is not it\n${own}\nBacklog=4096\n`);
    const check = portCheck(port, bind).check.replace('/proc/net/tcp /proc/net/tcp6', `${dir}/tcp ${dir}/tcp6`).replace('/etc/systemd/system/', `${dir}/`);
    const r = spawnSync('/bin/sh', ['-c', `A=shop; ( ${check} )`], { encoding: 'utf8' });
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

  it('says which port and how to find who holds it', () => {
    expect(portCheck(22, '0.0.0.0').message).toBe(
      "port 22 is already in use on this host by another service (`ss -ltnp 'sport = :22'` names it): choose another server.port, or stop that service",
    );
  });
});
