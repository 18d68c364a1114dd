import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { readLab, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

/**
 * The node runtime's start warnings reach the deployer: an app that exports onReady (the hook is `ready`) is
 * deployed, passes its gate (its ready() is never called, so nothing stops it serving), and the deploy's output
 * names the mistake once, for the canary; a correct app's deploy says nothing of the kind.
 */
const APP = 'warnapp';
const PORT = 8150;
const SECRET = 'warnapp-5ecret-tok3n-value';
jest.setTimeout(300_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;

/**
 * A user's app with the mistake this is about: its hook is exported as onReady. It also prints a warning of its own
 * at syslog priority 4 (`<4>`, sd-daemon(3): journald reads the prefix off a stdout line) that holds its API token,
 * which the deploy must print redacted.
 */
const MISNAMED = `import { realpathSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
const release = path.basename(realpathSync(process.cwd()));
const read = (name) => { try { return readFileSync(path.join(process.cwd(), name), 'utf8').trim(); } catch { return ''; } };
const version = read('VERSION');
// A file NOT_READY_ON naming a host makes the release fail its gate there (a deploy that fails after the canary).
const notReady = read('NOT_READY_ON') === hostname();
process.stdout.write('<4>cache disabled: could not log in with token ' + process.env.API_TOKEN + '\\n');
export async function onReady() {}
// Called as the release stops (the next deploy's restart): a warning that is the old start's, not the new one's.
export async function shutdown() { process.stdout.write('<4>old release stopping: flushed its queue\\n'); }
export function handler(req, res) {
  const status = notReady && req.url === '/readyz' ? 503 : 200;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ status: status === 200 ? 'ok' : 'not-ready', release, version }));
}
`;

const warned = (output: string) => output.split('\n').filter((line) => line.includes('the app warned at start'));

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 3);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  project = new Project(lab, { app: APP, port: PORT, hosts, preset: 'node', secret: SECRET });
});
afterAll(async () => {
  project?.cleanup();
  if (lab) await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
});

describe("a deploy names the app's start warnings (3 lab hosts, node preset)", () => {
  const example = () => readFileSync(join(project.appDir, 'server.js'), 'utf8');
  let correct = '';

  it('a correct app: no warning line', async () => {
    correct = example();
    project.setVersion('w1');
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(0);
    expect(warned(run.all)).toEqual([]);
  });

  it('an app that exports onReady instead of ready: the canary names it, once, with its secret redacted', async () => {
    writeFileSync(join(project.appDir, 'server.js'), MISNAMED);
    project.setVersion('w2');
    const run = await project.shipit(['deploy', 'production', '--verbose']);
    expect(run.exitCode).toBe(0);
    // It serves (nothing stopped it): that is why only the warning tells.
    for (const h of hosts) expect((await httpGet(h.address, PORT, '/')).body).toMatchObject({ version: 'w2' });
    const lines = warned(run.all);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`Z ${hosts[0]!.name} +the app warned at start: .*server\\.js: export onReady is not called by the runtime: the hook is named ready, .*rename it to ready`));
    expect(lines[0]).toContain('cache disabled: could not log in with token [redacted]');
    // The runtime's JSON is reduced to its msg.
    expect(lines[0]).not.toMatch(/"level"|"ts"/);
    expect(run.all).not.toContain(SECRET);
    // One journal read, on the canary only.
    const reads = run.all.split('\n').filter((l) => /\] journal: exit/.test(l));
    expect(reads).toHaveLength(1);
    expect(reads[0]).toContain(`[${hosts[0]!.name}]`);
    console.log(`[app-warnings] ${lines[0]}\n[app-warnings] the read: ${reads[0]!.trim()}`);
  });

  it('--json: a host.app_warnings event for the canary', async () => {
    project.setVersion('w3');
    const run = await project.shipit(['deploy', 'production', '--json']);
    expect(run.exitCode).toBe(0);
    const events = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const warnings = events.filter((e) => e.type === 'host.app_warnings');
    expect(warnings).toEqual([
      expect.objectContaining({
        host: hosts[0]!.name,
        lines: expect.arrayContaining([expect.stringMatching(/^server\.js: export onReady is not called by the runtime/), 'cache disabled: could not log in with token [redacted]']),
        more: 0,
      }),
    ]);
    expect(run.stdout).not.toContain(SECRET);
    // The release it replaced warned as it stopped, during this deploy: not this start's.
    expect(JSON.stringify(warnings)).not.toContain('old release stopping');
  });

  it("a deploy that fails on a later host still names the canary's warnings, once; the revert reads nothing", async () => {
    writeFileSync(join(project.appDir, 'NOT_READY_ON'), `${hosts[1]!.name}\n`);
    project.setVersion('w-fails');
    const run = await project.shipit(['deploy', 'production', '--verbose']);
    rmSync(join(project.appDir, 'NOT_READY_ON'));
    expect(run.exitCode).not.toBe(0);
    expect(run.all).toMatch(new RegExp(`${hosts[1]!.name} +FAILED on `));
    const lines = warned(run.all);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`Z ${hosts[0]!.name} +the app warned at start: .*export onReady is not called`));
    expect(run.all.split('\n').filter((l) => /\] journal: exit/.test(l))).toHaveLength(1);
    for (const h of hosts) expect((await httpGet(h.address, PORT, '/')).body).toMatchObject({ version: 'w3' });
  });

  it("back to a correct app: no warning line (the old release's start is not this one's)", async () => {
    writeFileSync(join(project.appDir, 'server.js'), correct);
    project.setVersion('w4');
    const started = Date.now();
    const elapsed = () => Date.now() - started;
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(0);
    expect(warned(run.all)).toEqual([]);
    // The old release warned as it stopped, during this deploy's restart (its shutdown()): what the deploy read was
    // only the new start's.
    const stopped = await onHost(lab, hosts[0]!.address, `journalctl -u ${APP}.service -p warning --since=-${Math.ceil(elapsed() / 1000)}s --no-pager -o cat`);
    expect(stopped).toContain('old release stopping');
  });
});
