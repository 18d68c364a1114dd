import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { execa } from 'execa';
import { readLab, type LabInfo } from './support/lab.js';
import { BIN, ROOT } from './support/project.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

/**
 * A new Node project as a user starts one: `shipit init --preset node` in the project directory (build.dir '.'),
 * only the hosts and SSH settings filled in, then a deploy to the lab. The laptop's node_modules and .env must not
 * reach the hosts (server.npm and build.exclude), and the app serves.
 */
const APP = 'e2e-init';
const PORT = 8140;
jest.setTimeout(300_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let dir: string;

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 2);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  dir = mkdtempSync(join(tmpdir(), 'shipit-e2e-init-'));
  cpSync(join(ROOT, 'examples/node'), dir, { recursive: true });
});
afterAll(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (lab) await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
});

describe('shipit init --preset node, then deploy', () => {
  it('ships the app without the local node_modules or .env, and it serves', async () => {
    const shipit = (args: string[]) => execa('node', [BIN, ...args], { cwd: dir, reject: false, all: true, env: { CI: 'true', NO_COLOR: '1' } });
    expect((await shipit(['init', '--preset', 'node', '--app', APP])).exitCode).toBe(0);
    // What a user has after `npm install` on a laptop, plus local secrets.
    await execa('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--offline'], { cwd: dir });
    mkdirSync(join(dir, 'node_modules/left-pad'), { recursive: true });
    writeFileSync(join(dir, 'node_modules/left-pad/index.js'), 'module.exports = 1;\n');
    writeFileSync(join(dir, '.env'), 'API_TOKEN=laptop-only\n');
    // Only what the user must fill in: the hosts, how to reach them, a free port.
    const config = readFileSync(join(dir, 'deploy.config.ts'), 'utf8');
    const labHosts = hosts.map((h) => `{ host: '${h.address}', user: 'deploy', name: '${h.name}' }`).join(', ');
    const edited = config
      .replace("hosts: ['deploy@web1.example.com', 'deploy@web2.example.com'],", `hosts: [${labHosts}],`)
      .replace('    port: 8000,', `    port: ${PORT},`)
      .replace(
        'export default defineConfig({',
        `export default defineConfig({\n  ssh: { knownHostsFile: '${lab.knownHostsFile}', identityFiles: ['${lab.identityFile}'], agent: false },`,
      );
    expect(edited).not.toBe(config);
    writeFileSync(join(dir, 'deploy.config.ts'), edited);

    const run = await shipit(['deploy', 'production']);
    expect(run.all).toMatch(/node deps \S+ (built|reused)/);
    expect(run.exitCode).toBe(0);
    for (const h of hosts) {
      expect((await httpGet(h.address, PORT, '/readyz')).status).toBe(200);
      const current = `/srv/${APP}/current`;
      // node_modules is the dependency set built from package-lock.json, a link; never the laptop's.
      expect((await onHost(lab, h.address, `test -L ${current}/node_modules && echo link; test -e ${current}/node_modules/left-pad && echo shipped; test -e ${current}/.env && echo env; true`)).trim()).toBe('link');
      expect((await onHost(lab, h.address, `test -f ${current}/server.js && test -f ${current}/package-lock.json && echo ok`)).trim()).toBe('ok');
    }
    expect(existsSync(join(dir, 'deploy.config.ts'))).toBe(true);
  });
});
