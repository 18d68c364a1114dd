// A host's network dies in the middle of a deploy's rollout: shipit must name that host in a clear error within
// the keepalive window, never hang, and put the other hosts back on the release they ran. The victim is web4,
// the isolated host reached through web1 (ProxyJump), so cutting its link disturbs no other suite; its link
// is the root-namespace end of its veth (`ip link set ... down`), exactly a pulled cable.
// Needs `npm run lab -- up 3 --isolated 1`.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { isolatedSsh, labHost, readIsolated, readLab, type LabHost, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';
import { httpGet, wipeApp } from './support/remote.js';

jest.setTimeout(240_000);

const APP = 'e2e-cut';
const PORT = 8104;
/** ssh.keepaliveInterval for this project: 3 unanswered keepalives (OpenSSH's ServerAliveCountMax) = lost. */
const KEEPALIVE_MS = 1_000;

let lab: LabInfo;
let web2: LabHost;
let web4: LabHost;
let project: Project;
const tmp = mkdtempSync(join(tmpdir(), 'shipit-e2e-cut-'));
/** The root-namespace end of web4's veth, on the isolated bridge (lab/network.ts names it after the host). */
const link = () => `shipitlab-${web4.name}`;
const setLink = (state: 'up' | 'down') => execa('ip', ['link', 'set', 'dev', link(), state]);

interface Event {
  type: string;
  host?: string;
  error?: string;
  release?: string;
  result?: string;
}

beforeAll(async () => {
  lab = readLab();
  const isolated = readIsolated(lab);
  web4 = isolated.hosts[0]!;
  web2 = labHost(lab, 'web2');
  const web1 = labHost(lab, isolated.jumpHost);
  const sshConfig = join(tmp, 'ssh_config');
  writeFileSync(sshConfig, `Host ${web4.name}\n  HostName ${web4.address}\n  ProxyJump deploy@${web1.address}\n`);
  await setLink('up');
  await wipeApp(lab, web2.address, APP);
  await isolatedSsh(lab, web4, 'root', wipe);
  project = new Project(lab, {
    app: APP,
    port: PORT,
    // web2 first (the canary), then web4 by its SSH config alias.
    hosts: [web2, { ...web4, address: web4.name }],
    ssh: `configFile: '${sshConfig}', keepaliveInterval: ${KEEPALIVE_MS}`,
    // A long minHealthyTime keeps web4 in its readiness gate long enough to cut it there.
    health: "{ liveness: '/healthz', readiness: '/readyz', interval: '300ms', timeout: '2s', successes: 2, minHealthyTime: '5s', healthyDeadline: '40s' }",
  });
});
const wipe = `systemctl disable --now ${APP}.service ${APP}.socket 2>/dev/null; rm -rf /srv/${APP} /etc/systemd/system/${APP}.*; systemctl daemon-reload; true`;

afterAll(async () => {
  await setLink('up');
  project?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
  // Free the port and the hosts for other suites.
  if (web2) await wipeApp(lab, web2.address, APP);
  if (web4) await isolatedSsh(lab, web4, 'root', wipe);
});

/**
 * Deploys `version` with --json, pulls web4's cable as the event `cutWhen` matches (once), and plugs it back in
 * when the run ended; each event is stamped with when it arrived.
 */
async function deployCutting(version: string, cutWhen: (event: Event) => boolean) {
  project.setVersion(version);
  const run = project.shipit(['deploy', 'production', '--json']);
  const events: Array<Event & { at: number }> = [];
  let cutAt = 0;
  let buffer = '';
  run.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
      const event = JSON.parse(buffer.slice(0, newline)) as Event;
      buffer = buffer.slice(newline + 1);
      events.push({ ...event, at: Date.now() });
      if (cutAt === 0 && cutWhen(event)) {
        cutAt = Date.now();
        void setLink('down');
      }
    }
  });
  const result = await run;
  const finishedAt = Date.now();
  await setLink('up');
  return { result, events, cutAt, finishedAt };
}

describe('a host that drops off the network mid-rollout', () => {
  it('fails with a clear error naming the host within the keepalive window; the other host is restored', async () => {
    project.setVersion('v1');
    const first = await project.shipit(['deploy', 'production']);
    expect(first.all).toMatch(/deploy of \S+ succeeded on 2 host/);
    const v1 = /deploying (\S+) /.exec(first.all)![1]!;

    // web4 restarted on v2 and is in its readiness gate: pull the cable.
    const { result, events, cutAt, finishedAt } = await deployCutting('v2', (e) => e.type === 'host.restarted' && e.host === web4.name);

    expect(cutAt).toBeGreaterThan(0);
    const failed = events.find((e) => e.type === 'host.failed' && e.host === web4.name);
    expect(failed?.error).toMatch(new RegExp(`Lost the SSH connection to deploy@${web4.name} \\(${web4.address.replace(/\./g, '\\.')}:22\\): no answer to keepalives`));
    // 3 keepalives of 1 s, plus the interval already running when the link went down, plus scheduling.
    const detectMs = failed!.at - cutAt;
    expect(detectMs).toBeLessThan(4 * KEEPALIVE_MS + 2_000);
    // Never a hang: the whole run, reverting web2 included, ends soon after.
    expect(finishedAt - cutAt).toBeLessThan(60_000);

    // web2 (canary, already on v2) is put back on v1; web4 could not be, and the exit code says so.
    expect(events).toContainEqual(expect.objectContaining({ type: 'host.reverted', host: web2.name, release: v1 }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'host.revert_failed', host: web4.name }));
    expect(result.exitCode).toBe(6);
    expect(result.stderr).toMatch(new RegExp(`the fleet may be inconsistent; hosts not restored: ${web4.name}`));
    expect(((await httpGet(web2.address, PORT, '/readyz')).body as { release: string }).release).toBe(v1);
    console.log(`${result.stderr.split('\n').filter((l) => /^(error|hint):/.test(l)).join('\n')}\nconnection loss: ${web4.name} cut ${cutAt - events[0]!.at} ms into the deploy, reported lost after ${detectMs} ms (keepalive ${KEEPALIVE_MS} ms x 3), run ended ${finishedAt - cutAt} ms after the cut`);
  });

  it('once the link is back, a re-run converges (the stale lock on the cut host is named, and released)', async () => {
    const retry = await project.shipit(['deploy', 'production']);
    console.log(`re-run after the link came back: exit ${retry.exitCode}\n${retry.stderr.split('\n').filter((l) => /^(error|hint):/.test(l)).join('\n')}`);
    if (retry.exitCode === 4) {
      // The failed run could not unlock the host it lost: the lock names its holder and how to release it.
      expect(retry.all).toMatch(new RegExp(`${web4.name}.*lock`, 's'));
      const release = await project.shipit(['lock', 'release', 'production', '--host', web4.name, '--force']);
      expect(release.exitCode).toBe(0);
      const again = await project.shipit(['deploy', 'production']);
      expect(again.all).toMatch(/deploy of \S+ succeeded on 2 host/);
      expect(again.exitCode).toBe(0);
    } else {
      expect(retry.all).toMatch(/deploy of \S+ succeeded on 2 host/);
      expect(retry.exitCode).toBe(0);
    }
    const ready = JSON.parse((await isolatedSsh(lab, web4, 'root', `curl -fsS 127.0.0.1:${PORT}/readyz`)).stdout) as { version: string };
    expect(ready.version).toBe('v2');
  });

  it('a host lost while the canary is gated fails the run within the keepalive window; its switch is never sent, so it is not "not restored"', async () => {
    // web2, the canary, restarted on v3 and is in its 5 s readiness gate; web4 waits for its turn.
    const { result, events, cutAt } = await deployCutting('v3', (e) => e.type === 'host.restarted' && e.host === web2.name);

    expect(cutAt).toBeGreaterThan(0);
    const failed = events.find((e) => e.type === 'host.failed');
    expect(failed).toMatchObject({ host: web2.name });
    expect(failed!.error).toMatch(new RegExp(`^${web4.name}: Lost the SSH connection to deploy@${web4.name} .*no answer to keepalives`));
    // Heard as it happened, not when web4's turn came (after web2's gate).
    expect(failed!.at - cutAt).toBeLessThan(4 * KEEPALIVE_MS + 2_000);
    expect(events.filter((e) => e.type === 'host.activating' && e.host === web4.name)).toEqual([]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'host.reverted', host: web2.name }));
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toMatch(/every host is back on the release it ran before/);
    expect(((await httpGet(web2.address, PORT, '/readyz')).body as { version: string }).version).toBe('v2');
    // web4 never left v2; the lock the run could not release there is released by hand.
    const ready = JSON.parse((await isolatedSsh(lab, web4, 'root', `curl -fsS 127.0.0.1:${PORT}/readyz`)).stdout) as { version: string };
    expect(ready.version).toBe('v2');
    expect((await project.shipit(['lock', 'release', 'production', '--host', web4.name, '--force'])).exitCode).toBe(0);
    console.log(`host lost while the canary was gated: reported ${failed!.at - cutAt} ms after the cut; exit ${result.exitCode}`);
  });
});

