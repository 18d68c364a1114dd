import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { execa } from 'execa';
import { readLab, type LabInfo } from './support/lab.js';
import { dropConnection, waitFor } from './support/ops.js';
import { BIN, Project } from './support/project.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

/**
 * The operating commands on 3 lab hosts, through the built binary as CI runs it: releases, logs (and following
 * every host, Ctrl-C, a host dropping out), the manual lock, --host and --verbose, units, init, --help.
 */
const APP = 'e2e-ops';
const PORT = 8102;
const SECRET = 'ops-5ecret-never-printed-42';
jest.setTimeout(300_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;
const releases: string[] = [];
const releaseIdOf = (output: string) => /deploying (\S+) /.exec(output)?.[1];

interface ReleasesJson {
  consistent: boolean;
  hosts: string[];
  current: Record<string, string | null>;
  releases: { id: string; state: string; by: string; currentOn: string[]; presentOn: string[]; missingOn: string[] }[];
  disagreements: string[];
}
interface LogJson {
  host: string;
  time: string;
  timeUs: number;
  message: string;
}
const jsonLines = <T>(text: string) => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as T);

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 3);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  project = new Project(lab, { app: APP, port: PORT, hosts, secret: SECRET, rollout: '{ canary: 1, maxParallel: 2 }' });
  for (const version of ['v1', 'v2']) {
    project.setVersion(version);
    const run = await project.shipit(['deploy', 'production']);
    if (run.exitCode !== 0) throw new Error(`setup deploy failed: ${run.all}`);
    releases.push(releaseIdOf(run.all)!);
  }
  project.setVersion('v3-bad', 'never-ready');
  const bad = await project.shipit(['deploy', 'production']);
  if (bad.exitCode !== 5) throw new Error(`setup bad deploy: ${bad.all}`);
  releases.push(releaseIdOf(bad.all)!);
  project.setVersion('v2');
});
afterAll(async () => {
  project?.cleanup();
  // Free the port and the hosts for other suites.
  if (hosts) await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
});

describe('shipit releases', () => {
  it('lists every release with its state and hosts; a consistent fleet has no disagreement', async () => {
    const [v1, v2, v3] = releases;
    const run = await project.shipit(['releases', 'production', '--json']);
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.stdout) as ReleasesJson;
    expect(report.consistent).toBe(true);
    expect(report.releases.map((r) => [r.id, r.state, r.presentOn.length, r.currentOn.length])).toEqual([
      [v3, 'bad', 3, 0],
      [v2, 'current', 3, 3],
      [v1, 'good', 3, 0],
    ]);
    expect(report.releases[0]!.by).toMatch(/@/);
    const table = await project.shipit(['releases', 'production']);
    expect(table.stdout.split('\n')[0]).toMatch(/^RELEASE\s+STATE\s+CREATED\s+BY\s+REVISION\s+HOSTS/);
    expect(table.stdout).toContain(`${v2}  current`);
    expect(table.stdout).toMatch(new RegExp(`${v2}.*web1\\* web2\\* web3\\*`));
  });

  it('flags hosts that disagree (a release missing on one host); --host narrows the view', async () => {
    const [v1] = releases;
    await onHost(lab, hosts[2]!.address, `rm -rf /srv/${APP}/releases/${v1} /srv/${APP}/.shipit/releases/${v1}`);
    const run = await project.shipit(['releases', 'production', '--json']);
    const report = JSON.parse(run.stdout) as ReleasesJson;
    expect(report.consistent).toBe(false);
    expect(report.disagreements).toEqual([`release ${v1} is missing on web3`]);
    expect(report.releases.find((r) => r.id === v1)).toMatchObject({ state: 'partial', missingOn: ['web3'] });
    const table = await project.shipit(['releases', 'production']);
    expect(table.stdout).toContain(`hosts disagree:\n  ! release ${v1} is missing on web3`);
    const two = JSON.parse((await project.shipit(['releases', 'production', '--json', '--host', 'web1', '--host', 'web2'])).stdout) as ReleasesJson;
    expect(two.hosts).toEqual(['web1', 'web2']);
    expect(two.consistent).toBe(true);
  });
});

describe('shipit logs', () => {
  it('merges every host\'s journal in time order, each line prefixed with its host, secrets redacted', async () => {
    for (const h of hosts) await httpGet(h.address, PORT, `/?marker=once-${h.name}&token=${SECRET}`);
    await new Promise((r) => setTimeout(r, 500));
    const run = await project.shipit(['logs', 'production', '-n', '60']);
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(60);
    for (const h of hosts) expect(lines.some((l) => l.startsWith(`${h.name} `) && l.includes(`once-${h.name}`))).toBe(true);
    const times = lines.map((l) => /^\S+\s+(\S+Z) /.exec(l)?.[1] ?? '');
    expect(times.every(Boolean)).toBe(true);
    expect([...times].sort()).toEqual(times);
    expect(run.all).not.toContain(SECRET);
    expect(run.stdout).toContain('token=[redacted]');

    const json = jsonLines<LogJson>((await project.shipit(['logs', 'production', '--since', '5m', '--json'])).stdout);
    expect(new Set(json.map((e) => e.host))).toEqual(new Set(['web1', 'web2', 'web3']));
    expect(json.map((e) => e.timeUs)).toEqual([...json.map((e) => e.timeUs)].sort((a, b) => a - b));
    const only = (await project.shipit(['logs', 'production', '--host', 'web3', '-n', '20'])).stdout.trimEnd().split('\n');
    expect(only.every((l) => l.startsWith('web3 '))).toBe(true);
  });

  it('-f follows every host; a host that drops out is reported and the others go on; Ctrl-C ends it with exit 0', async () => {
    const follow = project.shipit(['logs', 'production', '-f', '-n', '0']);
    let out = '';
    follow.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // Each host gets a request with its own marker until the follower has shown all three.
    await waitFor(
      async () => {
        for (const h of hosts) await httpGet(h.address, PORT, `/?marker=follow-${h.name}`);
        return hosts.every((h) => out.split('\n').some((l) => l.startsWith(`${h.name} `) && l.includes(`follow-${h.name}`)));
      },
      30_000,
      'lines from every followed host',
    );
    await dropConnection(lab, hosts[1]!.address, follow.pid!);
    await waitFor(async () => {
      for (const h of [hosts[0]!, hosts[2]!]) await httpGet(h.address, PORT, `/?marker=after-drop-${h.name}`);
      return ['web1', 'web3'].every((name) => out.includes(`after-drop-${name}`));
    }, 30_000, 'lines after web2 dropped');
    follow.kill('SIGINT');
    const run = await follow;
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(/web2: cannot read the journal any more: .*going on with the other 2 host/);
    const lines = out.trimEnd().split('\n');
    const times = lines.map((l) => /^\S+\s+(\S+Z) /.exec(l)?.[1] ?? '');
    expect([...times].sort()).toEqual(times);
    // The reads in flight were killed on the hosts: no journalctl of this app is left behind.
    for (const h of hosts) {
      expect((await onHost(lab, h.address, `pgrep -af '[j]ournalctl --unit=${APP}.service' || true`)).trim()).toBe('');
    }
  });
});

describe('an unreachable host: the read-only commands show the others, name it with why, and exit 3', () => {
  const ghost = { name: 'ghost', address: '10.213.37.250' } as LabInfo['hosts'][number];
  // The lab subnet has nothing at .250: the handshake times out (or the kernel says so first, no ARP answer).
  const why = String.raw`Cannot connect to deploy@ghost \(10\.213\.37\.250:22\): (no SSH handshake within 3000 ms|host unreachable)`;
  beforeAll(() => project.writeConfig({ hosts: [...hosts, ghost], ssh: "connectTimeout: '3s'" }));
  afterAll(() => project.writeConfig({ hosts }));

  it('status: a row per reachable host and one saying ghost is unreachable and why; --json has it as a field', async () => {
    const run = await project.shipit(['status', 'production']);
    expect(run.exitCode).toBe(3);
    const rows = run.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^HOST\s+RELEASE\s+UNIT/);
    for (const h of hosts) expect(rows).toContainEqual(expect.stringMatching(new RegExp(`^${h.name}\\s+${releases[1]}\\s+active/running\\s.*\\s200\\s`)));
    expect(rows[4]).toMatch(new RegExp(`^ghost\\s+unreachable: ${why}$`));
    expect(run.stderr).toMatch(/error: could not reach ghost \(the other 3 host\(s\) are shown\)/);

    const json = await project.shipit(['status', 'production', '--json']);
    expect(json.exitCode).toBe(3);
    const status = JSON.parse(json.stdout) as { hosts: { host: string; unreachable: string | null; current: string | null; ready: number | null }[] };
    expect(status.hosts.map((h) => [h.host, h.current, h.ready])).toEqual([
      ['web1', releases[1], 200],
      ['web2', releases[1], 200],
      ['web3', releases[1], 200],
      ['ghost', null, null],
    ]);
    expect(status.hosts.slice(0, 3).every((h) => h.unreachable === null)).toBe(true);
    expect(status.hosts[3]!.unreachable).toMatch(new RegExp(`^${why}$`));
    expect(json.stderr).toMatch(/could not reach ghost/);
  });

  it('releases: the table of the reachable hosts, then ghost under "hosts unreachable" with why; --json has it', async () => {
    const [, v2] = releases;
    const run = await project.shipit(['releases', 'production']);
    expect(run.exitCode).toBe(3);
    expect(run.stdout).toMatch(new RegExp(`${v2}\\s+current\\s.*web1\\* web2\\* web3\\*`));
    expect(run.stdout).toMatch(new RegExp(`\\nhosts unreachable \\(not in the table\\):\\n  ! ghost: ${why}$`));
    const json = await project.shipit(['releases', 'production', '--json']);
    expect(json.exitCode).toBe(3);
    const report = JSON.parse(json.stdout) as ReleasesJson & { unreachable: { host: string; reason: string }[] };
    expect(report.hosts).toEqual(['web1', 'web2', 'web3']);
    expect(report.releases.find((r) => r.id === v2)).toMatchObject({ state: 'current', currentOn: ['web1', 'web2', 'web3'] });
    expect(report.consistent).toBe(false);
    expect(report.unreachable.map((u) => u.host)).toEqual(['ghost']);
    expect(report.unreachable[0]!.reason).toMatch(new RegExp(`^${why}$`));
  });

  it('logs: every reachable host\'s lines, ghost named on stderr with why; -f follows the others', async () => {
    const run = await project.shipit(['logs', 'production', '-n', '30']);
    expect(run.exitCode).toBe(3);
    for (const h of hosts) expect(run.stdout).toMatch(new RegExp(`^${h.name} `, 'm'));
    expect(run.stdout).not.toMatch(/^ghost/m);
    expect(run.stderr).toMatch(new RegExp(`ghost: cannot read the journal: ${why} \\(going on with the other 3 host\\(s\\)\\)`));
    expect(run.stderr).toMatch(/the journal of ghost could not be read/);

    const follow = project.shipit(['logs', 'production', '-f', '-n', '0']);
    let out = '';
    let err = '';
    follow.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    follow.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    await waitFor(
      async () => {
        for (const h of hosts) await httpGet(h.address, PORT, `/?marker=ghost-follow-${h.name}`);
        return hosts.every((h) => out.includes(`ghost-follow-${h.name}`));
      },
      30_000,
      'lines from every reachable host while ghost is unreachable',
    );
    expect(err).toMatch(new RegExp(`ghost: cannot read the journal: ${why}`));
    follow.kill('SIGINT');
    expect((await follow).exitCode).toBe(0);
  });

  it('an unknown host key still fails the command, loudly and with no partial output, even beside an unreachable host', async () => {
    const empty = join(project.dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    project.writeConfig({ hosts: [...hosts, ghost], ssh: "connectTimeout: '3s'", knownHostsFile: empty });
    try {
      for (const args of [['status'], ['releases'], ['logs']]) {
        const run = await project.shipit([...args, 'production', '--json']);
        expect([args[0], run.exitCode, run.stdout]).toEqual([args[0], 3, '']);
        expect(run.stderr).toMatch(/SHA256:/);
      }
    } finally {
      project.writeConfig({ hosts: [...hosts, ghost], ssh: "connectTimeout: '3s'" });
    }
  });
});

describe('shipit lock', () => {
  it('acquire holds the lock across runs: a deploy fails fast naming the holder (exit 4); release frees it', async () => {
    const free = JSON.parse((await project.shipit(['lock', 'status', 'production', '--json'])).stdout) as { hosts: { host: string; held: boolean }[] };
    expect(free.hosts.map((h) => [h.host, h.held])).toEqual([['web1', false], ['web2', false], ['web3', false]]);

    const acquire = await project.shipit(['lock', 'acquire', 'production', '-m', 'maintenance window: kernel update']);
    expect(acquire.exitCode).toBe(0);
    expect(acquire.stdout).toMatch(/locked production on web1, web2, web3/);
    const status = await project.shipit(['lock', 'status', 'production']);
    expect(status.stdout).toMatch(/web2\s+\S+@\S+ \(by hand\) since .*: "maintenance window: kernel update"/);

    const started = Date.now();
    const refused = await project.shipit(['deploy', 'production']);
    expect(refused.exitCode).toBe(4);
    expect(refused.all).toMatch(/deploy lock held by \S+ \(by hand\) since .*maintenance window: kernel update/);
    expect(Date.now() - started).toBeLessThan(15_000);

    const again = await project.shipit(['lock', 'acquire', 'production']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/you already hold the lock/);

    const release = await project.shipit(['lock', 'release', 'production']);
    expect(release.exitCode).toBe(0);
    expect(release.stdout).toMatch(/released your lock on web1, web2, web3: it was held by .*maintenance window/);
    for (const h of hosts) expect((await onHost(lab, h.address, `test -d /srv/${APP}/.shipit/lock && echo held || echo free`)).trim()).toBe('free');
  });

  it('a lock held on one host only: the others, which staged the release with their lock, discard it and unlock', async () => {
    const listing = (address: string) => onHost(lab, address, `ls -A /srv/${APP}/releases /srv/${APP}/.shipit/releases; test -d /srv/${APP}/.shipit/lock && echo held || echo free`);
    expect((await project.shipit(['lock', 'acquire', 'production', '--host', 'web3', '-m', 'web3 only'])).exitCode).toBe(0);
    const before = await Promise.all(hosts.map((h) => listing(h.address)));
    const refused = await project.shipit(['deploy', 'production', '--verbose']);
    expect(refused.exitCode).toBe(4);
    expect(refused.all).toMatch(/web3: deploy lock held by .*web3 only/);
    // web1 and web2 ran the lock and the stage as one command (they run what this deployer left there) …
    for (const name of ['web1', 'web2']) {
      expect(refused.all).toMatch(new RegExp(`\\[${name}\\] lock, stage \\S+: exit 0`));
      expect(refused.all).toMatch(new RegExp(`\\[${name}\\] discard, prune unused dependency sets: exit 0`));
    }
    // … and are left as they were: no new release, no temporaries, no lock. web3 keeps its lock.
    expect(await Promise.all(hosts.map((h) => listing(h.address)))).toEqual(before);
    expect(before.map((l) => l.trim().split('\n').at(-1))).toEqual(['free', 'free', 'held']);
    expect((await project.shipit(['lock', 'release', 'production'])).exitCode).toBe(0);
  });

  it('acquire where you hold the lock on some hosts only takes the others with the same lock', async () => {
    expect((await project.shipit(['lock', 'acquire', 'production', '--host', 'web1', '-m', 'partial'])).exitCode).toBe(0);
    const extend = await project.shipit(['lock', 'acquire', 'production']);
    expect(extend.exitCode).toBe(0);
    const status = JSON.parse((await project.shipit(['lock', 'status', 'production', '--json'])).stdout) as { hosts: { held: boolean; lock: { at: string; message: string } }[] };
    expect(status.hosts.map((h) => [h.held, h.lock.message])).toEqual([[true, 'partial'], [true, 'partial'], [true, 'partial']]);
    expect(new Set(status.hosts.map((h) => h.lock.at)).size).toBe(1);
    expect((await project.shipit(['lock', 'release', 'production'])).stdout).toMatch(/released your lock on web1, web2, web3/);
  });

  it("releasing someone else's lock needs --force (exit 4 without) and says whose it was", async () => {
    const other = await project.shipit(['lock', 'acquire', 'production', '-m', 'alice is migrating'], { GITHUB_ACTOR: 'alice' });
    expect(other.exitCode).toBe(0);
    const refused = await project.shipit(['lock', 'release', 'production']);
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toMatch(/held by alice@github-actions .*alice is migrating.*not by you/);
    expect(refused.stderr).toMatch(/--force/);
    const forced = await project.shipit(['lock', 'release', 'production', '--force']);
    expect(forced.exitCode).toBe(0);
    expect(forced.stdout).toMatch(/released someone else's lock on web1, web2, web3: it was held by alice@github-actions/);
    const none = await project.shipit(['lock', 'release', 'production']);
    expect(none.stdout).toMatch(/no lock was held/);
  });
});

describe('--host and --verbose on fleet commands', () => {
  it('status --host shows only that host; --verbose shows each remote command and probe with its timing on stderr', async () => {
    const run = await project.shipit(['status', 'production', '--host', 'web2', '--verbose', '--json']);
    expect(run.exitCode).toBe(0);
    const status = JSON.parse(run.stdout) as { hosts: { host: string }[] };
    expect(status.hosts.map((h) => h.host)).toEqual(['web2']);
    expect(run.stderr).toMatch(/\[web2\] inspect: exit 0 in \d/);
    expect(run.stderr).toMatch(new RegExp(`\\[web2\\] GET 127.0.0.1:${PORT}/readyz: HTTP 200 in \\d`));
    expect(run.stderr).not.toMatch(/web1|web3/);
    const releasesRun = await project.shipit(['releases', 'production', '--verbose', '--host', 'web1']);
    expect(releasesRun.stderr).toMatch(/\[web1\] inspect: exit 0 in/);
    const logsRun = await project.shipit(['logs', 'production', '--verbose', '-n', '1']);
    for (const h of hosts) expect(logsRun.stderr).toMatch(new RegExp(`\\[${h.name}\\] journal: exit 0 in`));
    const unknown = await project.shipit(['status', 'production', '--host', 'web9']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/--host web9: not a host of environment production/);
  });
});

describe('shipit units and shipit init', () => {
  it('units prints exactly what a deploy installed', async () => {
    const run = await project.shipit(['units', 'production', '--json']);
    expect(run.exitCode).toBe(0);
    const { units } = JSON.parse(run.stdout) as { units: { name: string; path: string; content: string }[] };
    expect(units.map((u) => u.name)).toEqual([`${APP}.socket`, `${APP}.service`]);
    for (const unit of units) expect(await onHost(lab, hosts[0]!.address, `cat ${unit.path}`)).toBe(unit.content);
    const text = await project.shipit(['units', 'production']);
    expect(text.stdout).toContain(`# /etc/systemd/system/${APP}.service\n`);
  });

  it.each(['gunicorn', 'command'] as const)('init --preset %s writes a config the binary loads; a second init refuses (exit 2)', async (preset) => {
    const dir = mkdtempSync(join(tmpdir(), 'shipit-init-e2e-'));
    const init = await execa('node', [BIN, 'init', '--preset', preset, '--app', 'fresh-app'], { cwd: dir, reject: false });
    expect(init.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'deploy.config.ts'), 'utf8')).toContain(`preset: '${preset}'`);
    const units = await execa('node', [BIN, 'units', 'production'], { cwd: dir, reject: false });
    expect(units.exitCode).toBe(0);
    expect(units.stdout).toContain('# /etc/systemd/system/fresh-app.service');
    const again = await execa('node', [BIN, 'init'], { cwd: dir, reject: false });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already exists.*not overwriting/);
  });
});

describe('help', () => {
  it('explains every command and flag, prints the version, and starts fast', async () => {
    const help = await execa('node', [BIN, '--help']);
    for (const command of ['deploy', 'plan', 'rollback', 'status', 'releases', 'logs', 'lock', 'units', 'init']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(help.stdout).toMatch(/Exit codes: 0 success/);
    const logsHelp = await execa('node', [BIN, 'logs', '--help']);
    for (const flag of ['--follow', '--since', '--lines', '--host', '--json', '--verbose']) expect(logsHelp.stdout).toContain(flag);
    expect((await execa('node', [BIN, '--version'])).stdout).toMatch(/^\d+\.\d+\.\d+$/);
    // Against node starting with nothing to do, measured alternately so a busy machine slows both alike: the
    // help only loads commander (command modules, config, ssh and listr2 code are imported lazily).
    const timed = async (args: string[]) => {
      const started = performance.now();
      await execa('node', args);
      return performance.now() - started;
    };
    const helpMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i < 7; i++) {
      helpMs.push(await timed([BIN, '--help']));
      bareMs.push(await timed(['-e', '0']));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    expect(median(helpMs) - median(bareMs)).toBeLessThan(250);
  });
});

// Last: its rollback leaves the deployer without a cached manifest for what web1 and web2 run, so their next
// lock would not stage (what 'shipit lock' above checks).
describe('a deploy SIGKILLed while it switches web2 (no cleanup runs)', () => {
  it('status marks its lock stale and says the hosts disagree; a rollback removes the lock, converges, and marks the dead release interrupted', async () => {
    const [, v2] = releases;
    project.setVersion('v4-killed');
    // One host per batch, so that web3 is still untouched when web2 switches.
    project.writeConfig({ rollout: '{ canary: 1, maxParallel: 1 }' });
    let out = '';
    try {
      const deploy = project.shipit(['deploy', 'production']);
      deploy.all!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor(() => /web2\s+switching/.test(out), 60_000, 'web2 switching');
      deploy.kill('SIGKILL');
      await deploy;
    } finally {
      project.setVersion('v2');
      project.writeConfig();
    }
    const killed = releaseIdOf(out)!;

    const status = await project.shipit(['status', 'production']);
    expect(status.exitCode).toBe(0);
    for (const h of hosts) expect(status.stdout).toMatch(new RegExp(`^${h.name}\\s.*deploying ${killed} \\(stale\\)$`, 'm'));
    expect(status.stdout).toContain(`hosts run different releases: web1, web2 on ${killed}; web3 on ${v2}`);
    expect(status.stdout).toContain('the lock on web1, web2, web3 is stale: the run that took it is gone');

    const rollback = await project.shipit(['rollback', 'production']);
    expect(rollback.all).toMatch(/web1\s+removed a stale lock of a run that is gone/);
    expect(rollback.exitCode).toBe(0);
    const report = JSON.parse((await project.shipit(['releases', 'production', '--json'])).stdout) as ReleasesJson;
    expect(report.current).toEqual({ web1: v2, web2: v2, web3: v2 });
    expect(report.releases.find((r) => r.id === killed)).toMatchObject({ state: 'interrupted', presentOn: ['web1', 'web2', 'web3'] });
    expect(report.disagreements.filter((d) => d.includes(killed))).toEqual([]);
  });
});
