import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { readLab, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';
import { httpGet, wipeApp } from './support/remote.js';

/**
 * What a TypeScript developer runs into on the lab's Debian 12 hosts (node 18), from the onboarding trial: tsc's
 * CommonJS output of `export default handler` serves; an app whose package.json asks for Node 20 is refused
 * before anything is written, naming the file and the host's Node; without that, a Node 20 API at boot fails
 * the canary saying which Node the host runs and where the app called it; a server factory exported as the
 * default is refused at once instead of leaving every probe unanswered until the deadline.
 */
const APP = 'e2e-node-ts';
const PORT = 8150;
jest.setTimeout(240_000);

let lab: LabInfo;
let hosts: LabInfo['hosts'];
let project: Project;

/** tsc --module commonjs output of src/server.ts: `export default function handler(req, res)` and `export async function ready()`. */
const tscCommonJs = (version: string, readyBody = '') => `"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.ready = ready;
exports.default = handler;
async function ready() {
    ${readyBody}
}
function handler(req, res) {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ status: "ready", version: ${JSON.stringify(version)} }));
}
`;
const write = (file: string, text: string) => writeFileSync(join(project.appDir, file), text);
const versions = async () => Promise.all(hosts.map(async (h) => ((await httpGet(h.address, PORT, '/readyz')).body as { version: string }).version));

beforeAll(async () => {
  lab = readLab();
  hosts = lab.hosts.slice(0, 3);
  await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
  project = new Project(lab, { app: APP, port: PORT, hosts, preset: 'node', rollout: '{ canary: 1, maxParallel: 2 }' });
  // A CommonJS package of its own in build.dir (examples/node's package.json says "type": "module").
  write('package.json', JSON.stringify({ name: 'e2e-node-ts', version: '1.0.0', private: true }));
});
afterAll(async () => {
  project?.cleanup();
  if (lab) await Promise.all(hosts.map((h) => wipeApp(lab, h.address, APP)));
});

describe('a TypeScript service on Debian 12 hosts (node 18)', () => {
  it("tsc's CommonJS output of `export default handler` (exports.default, __esModule) deploys and serves", async () => {
    write('server.js', tscCommonJs('ts1'));
    const run = await project.shipit(['deploy', 'production']);
    expect(run.all).toMatch(/deploy of \S+ succeeded on 3 host/);
    expect(run.exitCode).toBe(0);
    expect(await versions()).toEqual(['ts1', 'ts1', 'ts1']);
  });

  it('engines.node the hosts do not satisfy: refused on every host before anything is written (exit 5), naming the file, the range and the host\'s Node', async () => {
    write('package.json', JSON.stringify({ name: 'e2e-node-ts', version: '1.0.0', engines: { node: '>=20' } }));
    write('server.js', tscCommonJs('ts2'));
    const plan = await project.shipit(['plan', 'production']);
    expect(plan.exitCode).toBe(5);
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(5);
    for (const h of hosts) {
      expect(run.all).toMatch(new RegExp(`${h.name} +prepare failed: the host runs Node 18\\.\\d+\\.\\d+, but engines\\.node in ${join(project.appDir, 'package.json').replace(/[.]/g, '\\.')} asks for ">=20"`));
    }
    expect(run.all).toMatch(/nothing was switched: every host still runs/);
    expect(await versions()).toEqual(['ts1', 'ts1', 'ts1']);
  });

  it("without engines.node, a Node 20 API in ready() fails the canary saying which Node the host runs and where the app called it; the host is reverted", async () => {
    write('package.json', JSON.stringify({ name: 'e2e-node-ts', version: '1.0.0' }));
    write('server.js', tscCommonJs('ts3', 'console.log([3, 1, 2].toSorted());'));
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(5);
    expect(run.all).toMatch(/halting: worker failed to boot: \[3, ?1, ?2\]\.toSorted is not a function \(at server\.js:\d+:\d+\); this host runs Node v18\.\d+\.\d+: if the app was written for a newer Node, this is how an API missing here fails/);
    expect(run.all).toMatch(/every host is back on the release it ran before/);
    expect(await versions()).toEqual(['ts1', 'ts1', 'ts1']);
  });

  it('a server factory exported as the default (no parameters) is refused when it loads, not at the deadline', async () => {
    write('server.js', `"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.default = createServer;
const http = require("node:http");
function createServer() { return http.createServer((req, res) => res.end("{}")); }
`);
    const started = Date.now();
    const run = await project.shipit(['deploy', 'production']);
    expect(run.exitCode).toBe(5);
    expect(run.all).toMatch(/server\.js: the default export \(createServer\) declares no parameters, so it is no request handler \(req, res\): a function that returns an http\.Server must be exported as createServer/);
    // The gate's healthyDeadline is 20 s: the failure came from the start, well before it.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await versions()).toEqual(['ts1', 'ts1', 'ts1']);
  });
});
