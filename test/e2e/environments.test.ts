import { jest } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLab, type LabInfo } from './support/lab.js';
import { startLoad } from './support/load.js';
import { Project } from './support/project.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

/**
 * Two environments of one app on the same hosts: staging and production both `app: 'te-e2e-envs'`, staging in its
 * own deployTo. Units are named after the app, so they would share `te-e2e-envs.service` and `.socket`: a deploy of
 * one took them over from the other (the service switched deployTo) and removing one stopped the other. Now the
 * deploy, plan and rollback of the environment whose units they are not refuse (exit 2, nothing changed), remove
 * leaves them alone, and an old deployTo whose releases are gone (the app moved) is free.
 */
const APP = 'te-e2e-envs';
const PORT = 8160;
const STAGING_PORT = 8161;
const PRODUCTION_DIR = `/srv/${APP}`;
const STAGING_DIR = `/srv/${APP}-staging`;
const MOVED_DIR = `/srv/${APP}-moved`;
jest.setTimeout(240_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;

/** Both environments in one config, as a user writes it: staging overrides deployTo and the port. */
function writeConfig(productionDeployTo = PRODUCTION_DIR): void {
  const list = hosts.map((h) => `{ host: '${h.address}', user: 'deploy', name: '${h.name}' }`).join(', ');
  writeFileSync(
    join(project.dir, 'deploy.config.ts'),
    `import { defineConfig } from 'shipit';
export default defineConfig({
  app: '${APP}',
  build: { dir: 'dist' },
  server: { preset: 'gunicorn', module: 'app.main:app', port: ${PORT}, workers: 1, gracefulTimeout: 10 },
  health: { liveness: '/healthz', readiness: '/readyz', interval: '300ms', timeout: '2s', successes: 2, minHealthyTime: '500ms', healthyDeadline: '20s' },
  rollout: { canary: 1, maxParallel: 1 },
  ssh: { knownHostsFile: '${lab.knownHostsFile}', identityFiles: ['${lab.identityFile}'], agent: false },
  environments: {
    production: { hosts: [${list}], deployTo: '${productionDeployTo}' },
    staging: { hosts: [${list}], deployTo: '${STAGING_DIR}', server: { port: ${STAGING_PORT} } },
  },
});
`,
  );
}

/** Where the installed service runs from, and whether production answers. */
const workingDirectory = (address: string) => onHost(lab, address, `sed -n 's/^WorkingDirectory=//p' /etc/systemd/system/${APP}.service`).then((s) => s.trim());
const exists = (address: string, path: string) => onHost(lab, address, `test -e ${path} && echo yes || echo no`).then((s) => s.trim() === 'yes');
const wipe = (address: string) => Promise.all([wipeApp(lab, address, APP), onHost(lab, address, `rm -rf ${STAGING_DIR} ${MOVED_DIR}`)]);

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 2);
  await Promise.all(hosts.map((h) => wipe(h.address)));
  project = new Project(lab, { app: APP, port: PORT, hosts });
  writeConfig();
  const run = await project.shipit(['deploy', 'production']);
  if (run.exitCode !== 0) throw new Error(`deploy of production failed: ${run.all}`);
});
afterAll(async () => {
  project?.cleanup();
  if (lab) await Promise.all(hosts.map((h) => wipe(h.address)));
});

describe('two environments of one app on the same hosts', () => {
  it("plan and deploy of staging are refused (exit 2), naming the host, production's deployTo and port; production keeps its units", async () => {
    const plan = await project.shipit(['plan', 'staging']);
    expect(plan.exitCode).toBe(2);
    expect(plan.stderr).toContain(`web1: ${APP}.service and ${APP}.socket on this host serve ${PRODUCTION_DIR} (port ${PORT}), another deployTo of ${APP} that holds releases`);

    const run = await project.shipit(['deploy', 'staging']);
    expect(run.exitCode).toBe(2);
    for (const h of hosts) expect(run.all).toMatch(new RegExp(`^\\S+ ${h.name}\\s+prepare failed: ${APP}\\.service and ${APP}\\.socket on this host serve ${PRODUCTION_DIR} \\(port ${PORT}\\)`, 'm'));
    expect(run.all).toContain(`deploying ${STAGING_DIR} would take them over from it. Give each environment on shared hosts its own \`app\``);
    expect(run.stderr).toContain('nothing was switched');
    for (const h of hosts) {
      expect(await workingDirectory(h.address)).toBe(`${PRODUCTION_DIR}/current`);
      // What the refused first contact made (staging's deployTo) was removed again.
      expect(await exists(h.address, STAGING_DIR)).toBe(false);
      expect((await httpGet(h.address, PORT, '/readyz')).status).toBe(200);
    }
    // Staging has no release: production's service is not shown as staging's running one.
    const status = await project.shipit(['status', 'staging']);
    expect(status.stdout).toMatch(/^web1\s+not deployed\s+active\/running/m);
    expect(status.stdout).toContain(`web1: the app's units serve ${PRODUCTION_DIR} (port ${PORT}), another environment's deployTo`);
  });

  it("rollback of staging is refused before its lock, the same way", async () => {
    const run = await project.shipit(['rollback', 'staging']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(`serve ${PRODUCTION_DIR} (port ${PORT}), another deployTo of ${APP} that holds releases`);
    expect(run.stderr).toContain(`rolling back ${STAGING_DIR} would take them over`);
  });

  it("status of staging says whose the units are; remove of staging removes its deployTo and leaves production's units serving, 0 failed requests", async () => {
    // A staging deployTo left by an older shipit, which let both environments deploy: a copy of production's.
    await Promise.all(hosts.map((h) => onHost(lab, h.address, `cp -a ${PRODUCTION_DIR} ${STAGING_DIR} && rm -rf ${STAGING_DIR}/.shipit/lock`)));
    const status = await project.shipit(['status', 'staging']);
    expect(status.stdout + status.stderr).toContain(`web1: the app's units serve ${PRODUCTION_DIR} (port ${PORT}), another environment's deployTo, not this one's`);

    const load = startLoad(hosts.map((h) => ({ address: h.address, port: PORT, path: '/readyz' })), { concurrency: 4 });
    const run = await project.shipit(['remove', 'staging', '--yes']);
    await new Promise((r) => setTimeout(r, 1500));
    const report = await load.stop();
    expect(run.exitCode).toBe(0);
    // Nor is production's /var/lib/<app> offered for `rm -r`.
    expect(run.stdout).toMatch(new RegExp(`^web1\\s+removed: ${STAGING_DIR} \\(1 release\\(s\\), current \\S+\\); ${APP}\\.socket, ${APP}\\.service serve ${PRODUCTION_DIR} \\(port ${PORT}\\) \\(another environment of the app\\): left alone$`, 'm'));
    expect({ errors: report.errors, non2xx: report.non2xx, samples: report.samples }).toEqual({ errors: 0, non2xx: 0, samples: [] });
    expect(report.requests).toBeGreaterThan(10);
    for (const h of hosts) {
      expect(await exists(h.address, STAGING_DIR)).toBe(false);
      expect(await onHost(lab, h.address, `systemctl is-active ${APP}.service ${APP}.socket`)).toBe('active\nactive\n');
      expect(await workingDirectory(h.address)).toBe(`${PRODUCTION_DIR}/current`);
    }
  });

  it('an old deployTo that still holds releases blocks a move; once its releases are gone, the move deploys', async () => {
    writeConfig(MOVED_DIR);
    const refused = await project.shipit(['deploy', 'production']);
    expect(refused.exitCode).toBe(2);
    expect(refused.all).toContain(`if ${APP} moved to ${MOVED_DIR} from there, delete the releases left in that directory`);
    await Promise.all(hosts.map((h) => onHost(lab, h.address, `rm -rf ${PRODUCTION_DIR}/releases`)));
    const moved = await project.shipit(['deploy', 'production']);
    expect(moved.exitCode).toBe(0);
    for (const h of hosts) {
      expect(await workingDirectory(h.address)).toBe(`${MOVED_DIR}/current`);
      expect((await httpGet(h.address, PORT, '/readyz')).status).toBe(200);
    }
  });
});
