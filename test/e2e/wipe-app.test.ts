import { jest } from '@jest/globals';
import { readLab, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';
import { onHost, wipeApp } from './support/remote.js';

/**
 * The suites' own cleanup (support/remote.ts wipeApp) leaves nothing of an app on a lab host, the service user a
 * deploy created included (they piled up, one per suite, across runs); a user of the app's name that shipit did
 * not create is left alone.
 */
const APP = 'e2e-wipe';
const PORT = 8106;
jest.setTimeout(120_000);

let lab: LabInfo;
let host: LabInfo['hosts'][number];
let project: Project | undefined;

/** The app's user and group on the host, `-` when absent. */
const account = async () =>
  (await onHost(lab, host.address, `getent passwd ${APP} || echo -; getent group ${APP} || echo -`)).trim().split('\n');

beforeAll(async () => {
  lab = readLab();
  host = lab.hosts[0]!;
  await wipeApp(lab, host.address, APP);
});
afterAll(async () => {
  project?.cleanup();
  if (lab) await onHost(lab, host.address, `userdel ${APP} 2>/dev/null; groupdel ${APP} 2>/dev/null; rm -rf /srv/${APP}; true`);
});

describe('wipeApp', () => {
  it('after a deploy: no unit or drop-in, no directory, and neither the service user nor its group', async () => {
    project = new Project(lab, { app: APP, port: PORT, hosts: [host] });
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(0);
    const [user, group] = await account();
    expect(user).toMatch(new RegExp(`^${APP}:x:\\d+:\\d+::/nonexistent:/usr/sbin/nologin$`));
    expect(group).toMatch(new RegExp(`^${APP}:x:`));
    // A drop-in a test added (remove.test.ts slows a stop with one) goes too.
    await onHost(lab, host.address, `mkdir -p /etc/systemd/system/${APP}.service.d && echo '[Service]' > /etc/systemd/system/${APP}.service.d/test.conf`);
    await wipeApp(lab, host.address, APP);
    expect(await account()).toEqual(['-', '-']);
    expect((await onHost(lab, host.address, `ls /etc/systemd/system | grep -c '^${APP}\\.' ; test -e /srv/${APP} && echo dir || echo no-dir`)).trim().split('\n')).toEqual(['0', 'no-dir']);
  });

  it("a user of the app's name that shipit did not create (a home of its own) is kept", async () => {
    await onHost(lab, host.address, `useradd --system --user-group --home-dir /var/lib/${APP} --shell /usr/sbin/nologin ${APP}`);
    await wipeApp(lab, host.address, APP);
    expect((await account())[0]).toMatch(new RegExp(`^${APP}:x:\\d+:\\d+::/var/lib/${APP}:/usr/sbin/nologin$`));
  });

  it('a user the config names (server.user) is never deleted, even one of shipit\'s shape', async () => {
    await onHost(lab, host.address, `userdel ${APP}; useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${APP}`);
    await wipeApp(lab, host.address, APP, { user: 'www-data' });
    expect((await account())[0]).toMatch(new RegExp(`^${APP}:x:`));
    expect(await onHost(lab, host.address, 'getent passwd www-data')).toMatch(/^www-data:/);
  });
});
