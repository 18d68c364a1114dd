// SSH like OpenSSH, on the lab: web4 sits on an isolated bridge that this machine cannot reach; web1 is on both
// bridges. deploy.config names the host `web4`; an ssh_config maps it (HostName, ProxyJump deploy@web1), and
// shipit deploys through web1 with the host key checked at both hops. Needs `npm run lab -- up 3 --isolated 1`.
// Host state is checked with the OpenSSH client from web1's network namespace, never with shipit's code.
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostTarget, SshConfig } from '../../src/config/types.js';
import { connectHost, type JumpHop } from '../../src/ssh/connect.js';
import { isolatedSsh, labHost, readIsolated, readLab, type LabHost, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';

jest.setTimeout(180_000);

const APP = 'e2e-jump';
const PORT = 8103;

let lab: LabInfo;
let web1: LabHost;
let web4: LabHost;
let project: Project;
const tmp = mkdtempSync(join(tmpdir(), 'shipit-e2e-jump-'));
const figures: string[] = [];

/** The lab's known_hosts without the lines of some addresses. */
function knownHostsWithout(name: string, ...addresses: string[]): string {
  const file = join(tmp, name);
  const lines = readFileSync(lab.knownHostsFile, 'utf8').split('\n').filter((l) => l && !addresses.some((a) => l.startsWith(`${a} `)));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function sshConfig(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

let jumpConfig: string;
let directConfig: string;
const wipeWeb4 = `systemctl disable --now ${APP}.service ${APP}.socket 2>/dev/null; rm -rf /srv/${APP} /etc/systemd/system/${APP}.*; systemctl daemon-reload; true`;
const onWeb4 = async (command: string) => {
  const result = await isolatedSsh(lab, web4, 'root', command);
  if (result.exitCode !== 0) throw new Error(`web4: ${command}: exit ${result.exitCode}: ${result.stderr}`);
  return result.stdout.trim();
};

beforeAll(async () => {
  lab = readLab();
  const isolated = readIsolated(lab);
  web4 = isolated.hosts[0]!;
  web1 = labHost(lab, isolated.jumpHost);
  // What a user's ~/.ssh/config would say: aliases, and the isolated host behind the bastion.
  jumpConfig = sshConfig(
    'jump.conf',
    `Host ${web4.name}
  HostName ${web4.address}
  ProxyJump deploy@${web1.name}

Host ${web1.name}
  HostName ${web1.address}
`,
  );
  directConfig = sshConfig('direct.conf', `Host ${web4.name}\n  HostName ${web4.address}\n`);
  await onWeb4(wipeWeb4);
  // deploy.config names the host by its alias, as written in the SSH config.
  project = new Project(lab, { app: APP, port: PORT, hosts: [{ ...web4, address: web4.name }] });
});
afterAll(async () => {
  if (figures.length > 0) console.log(`jump hosts on the lab:\n  ${figures.join('\n  ')}`);
  project?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
  // Free the port and the host for other suites.
  if (web4) await onWeb4(wipeWeb4);
});

describe('a host reachable only through a jump host', () => {
  it('cannot be reached directly: the SSH connection fails at once, naming the host; nothing is touched', async () => {
    const started = Date.now();
    const run = await project.shipit(['deploy', 'production', '--ssh-config', directConfig]);
    expect(run.exitCode).toBe(3);
    expect(run.all).toContain(`Cannot connect to deploy@${web4.name} (${web4.address}:22): host unreachable`);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await onWeb4(`test -e /srv/${APP} && echo touched || echo clean`)).toBe('clean');
  });

  it('checks the jump host key: web1 unknown is refused as the jump host, before web4 is tried', async () => {
    project.writeConfig({ knownHostsFile: knownHostsWithout('no-web1', web1.address) });
    const run = await project.shipit(['deploy', 'production', '--ssh-config', jumpConfig]);
    expect(run.exitCode).toBe(3);
    expect(run.all).toContain(`error: ${web4.name}: via jump host ${web1.name}: The authenticity of host ${web1.name} (${web1.address}:22) can't be established`);
    expect(run.all).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(await onWeb4(`test -e /srv/${APP} && echo touched || echo clean`)).toBe('clean');
  });

  it('checks the target host key behind the jump host', async () => {
    project.writeConfig({ knownHostsFile: knownHostsWithout('no-web4', web4.address) });
    const run = await project.shipit(['deploy', 'production', '--ssh-config', jumpConfig]);
    expect(run.exitCode).toBe(3);
    expect(run.all).toContain(`The authenticity of host ${web4.name} (${web4.address}:22) can't be established`);
    expect(run.all).toContain(`(through jump host ${web1.name})`);
    expect(await onWeb4(`test -e /srv/${APP} && echo touched || echo clean`)).toBe('clean');
  });

  it('deploys through ProxyJump with both host keys known; --verbose shows the route', async () => {
    project.writeConfig();
    project.setVersion('v1');
    const run = await project.shipit(['deploy', 'production', '--ssh-config', jumpConfig, '--verbose']);
    expect(run.all).toMatch(/deploy of \S+ succeeded on 1 host/);
    expect(run.exitCode).toBe(0);
    expect(run.all).toContain(`connect ${web4.name}: deploy@${web4.address}:22 via deploy@${web1.name} (${web1.address}:22)`);
    const release = /deploying (\S+) /.exec(run.all)![1]!;
    expect(await onWeb4(`readlink /srv/${APP}/current`)).toBe(`releases/${release}`);
    expect(JSON.parse(await onWeb4(`curl -fsS 127.0.0.1:${PORT}/readyz`))).toMatchObject({ release, version: 'v1' });
  });

  it('shipit status shows it ready, with the SSH config named in deploy.config (ssh.configFile)', async () => {
    project.writeConfig({ ssh: `configFile: '${jumpConfig}'` });
    const run = await project.shipit(['status', 'production', '--json']);
    expect(run.exitCode).toBe(0);
    const status = JSON.parse(run.stdout) as { hosts: Array<{ host: string; ready: number; unit: string; current: string }> };
    expect(status.hosts).toEqual([expect.objectContaining({ host: web4.name, ready: 200, unit: 'active/running' })]);
    expect(status.hosts[0]!.current).toMatch(/\S+/);
  });

  it('measures connect time: direct vs through one jump host (library, 5 each, median)', async () => {
    const ssh: SshConfig = {
      knownHostsFile: lab.knownHostsFile,
      identityFiles: [lab.identityFile],
      passphraseEnv: undefined,
      agent: false,
      connectTimeout: 10_000,
      keepaliveInterval: 5_000,
      commandTimeout: 60_000,
    };
    const target = (h: LabHost): HostTarget => ({ name: h.name, host: h.address, user: 'deploy', port: 22 });
    const jumps: JumpHop[] = [{ target: target(web1), ssh }];
    const median = async (connect: () => Promise<{ close(): Promise<void> }>) => {
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const transport = await connect();
        samples.push(performance.now() - started);
        await transport.close();
      }
      return samples.sort((a, b) => a - b)[2]!;
    };
    const direct = await median(() => connectHost(target(web1), ssh));
    const viaJump = await median(() => connectHost(target(web4), ssh, { jumps }));
    figures.push(`connect (handshake + auth + first command), median of 5: direct to ${web1.name} ${direct.toFixed(0)} ms, to ${web4.name} through ${web1.name} ${viaJump.toFixed(0)} ms`);
    expect(viaJump).toBeLessThan(direct * 4 + 500);
  });
});
