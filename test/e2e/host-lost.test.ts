// A lab host's network goes away (its link set down inside its own network namespace, as a pulled cable) while
// it is in its readiness gate on the new release: the run fails naming it (exit 6, it cannot be put back), and
// what it says each host runs must be true: the cut host stays on the release it was switched to. Once the link
// is back, the next deploy converges the fleet by itself (the stale lock removed) and the hosts agree about the
// failed release. Uses web2 and web3 of the plain lab (`npm run lab -- up 3`); the link always comes back up.
import { jest } from '@jest/globals';
import { execa } from 'execa';
import { labHost, readLab, type LabHost, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

jest.setTimeout(90_000);

const APP = 'e2e-lost';
const PORT = 8133;

let lab: LabInfo;
let web2: LabHost;
let web3: LabHost;
let project: Project;
/** web2's own end of its veth, inside its network namespace (lab/network.ts). */
const setLink = (state: 'up' | 'down') => execa('ip', ['netns', 'exec', web2.netns, 'ip', 'link', 'set', 'dev', 'eth0', state]);

beforeAll(async () => {
  lab = readLab();
  web2 = labHost(lab, 'web2');
  web3 = labHost(lab, 'web3');
  await setLink('up');
  await Promise.all([wipeApp(lab, web2.address, APP), wipeApp(lab, web3.address, APP)]);
  project = new Project(lab, {
    app: APP,
    port: PORT,
    // web3 is the canary, so web2 is cut in its gate with web3 already on the new release (it is reverted).
    hosts: [web3, web2],
    ssh: 'keepaliveInterval: 1000',
    health: "{ liveness: '/healthz', readiness: '/readyz', interval: '300ms', timeout: '2s', successes: 2, minHealthyTime: '2s', healthyDeadline: '20s' }",
  });
});

afterAll(async () => {
  await setLink('up');
  project?.cleanup();
  if (web2) await Promise.all([wipeApp(lab, web2.address, APP), wipeApp(lab, web3.address, APP)]);
});

/** Runs shipit with --json and cuts web2's link as it is restarted (in its gate); the link is back when this returns. */
async function cutInGate(args: string[]) {
  const run = project.shipit([...args, '--json']);
  let cut = false;
  let buffer = '';
  run.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    if (!cut && buffer.includes(`"type":"host.restarted","host":"${web2.name}"`)) {
      cut = true;
      void setLink('down');
    }
  });
  try {
    const result = await run;
    expect(cut).toBe(true);
    return result;
  } finally {
    await setLink('up');
  }
}

let v1 = '';

it('a host cut off in its gate is reported on the release it was switched to; the next deploy converges without manual work', async () => {
  project.setVersion('v1');
  const first = await project.shipit(['deploy', 'production']);
  expect(first.exitCode).toBe(0);
  v1 = /deploying (\S+) /.exec(first.all)![1]!;

  project.setVersion('v2');
  const result = await cutInGate(['deploy', 'production']);
  const v2 = /deploying (\S+) /.exec(result.stderr)![1]!;
  expect(result.exitCode).toBe(6);
  // web2 answered its switch, then went silent: it is on v2, not "back" on v1.
  expect(result.stderr).toContain(`hosts not restored: ${web2.name}; now: ${web3.name}=${v1} ${web2.name}=${v2}`);
  expect((await onHost(lab, web2.address, `readlink /srv/${APP}/current`)).trim()).toBe(`releases/${v2}`);
  expect(((await httpGet(web3.address, PORT, '/readyz')).body as { release: string }).release).toBe(v1);

  // The link is back: a plain deploy removes the stale lock and moves both hosts to one release.
  project.setVersion('v3');
  const retry = await project.shipit(['deploy', 'production']);
  expect(retry.exitCode).toBe(0);
  expect(retry.all).toMatch(new RegExp(`${web2.name}.*stale`));
  const releases = await project.shipit(['releases', 'production', '--json']);
  const listed = JSON.parse(releases.stdout) as { consistent: boolean; releases: { id: string; states: Record<string, string> }[] };
  // v2 was recorded bad on web3 by the failed run; web2, which it could not reach, says the same now.
  expect(listed.releases.find((r) => r.id === v2)?.states).toEqual({ [web3.name]: 'bad', [web2.name]: 'bad' });
  expect(listed.consistent).toBe(true);
});

it('a rollback cut off by a lost host does not make its target bad, and says how to finish it', async () => {
  // Both hosts run v3; v2 is bad, so a plain rollback goes to v1. web3 moves first; web2 is cut in its gate.
  const result = await cutInGate(['rollback', 'production']);
  expect(result.exitCode).toBe(6);
  expect(result.stderr).toContain(`rollback to ${v1} failed: ${web2.name}: Lost the SSH connection`);
  expect(result.stderr).toContain(`\`shipit rollback production --to ${v1}\` to finish this rollback`);
  const releases = JSON.parse((await project.shipit(['releases', 'production', '--json'])).stdout) as { releases: { id: string; states: Record<string, string> }[] };
  expect(releases.releases.find((r) => r.id === v1)?.states).toEqual({ [web3.name]: 'good', [web2.name]: 'good' });
  const finish = await project.shipit(['rollback', 'production', '--to', v1]);
  expect(finish.exitCode).toBe(0);
  for (const host of [web2, web3]) expect(((await httpGet(host.address, PORT, '/readyz')).body as { release: string }).release).toBe(v1);
});
