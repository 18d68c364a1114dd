/**
 * The runtime as a release carries it: the files nodeRuntimeFiles() ships (dist/runtime's bundles, built by
 * `npm run build`), written into a release's .shipit/runtime/ and started as the node unit starts it. The other
 * process tests run src/runtime through tsx; this is the one that runs what reaches the hosts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeRuntimeFiles } from '../../../src/build/preset-files.js';
import { get, startRuntime, type RuntimeProcess } from './harness.js';

let runtime: RuntimeProcess | undefined;
let release: string | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  if (release !== undefined) rmSync(release, { recursive: true, force: true });
  release = undefined;
});

describe('the shipped runtime', () => {
  it('is one bundle per entry, importing nothing but node: builtins', () => {
    const files = nodeRuntimeFiles();
    expect(Object.keys(files).sort()).toEqual(['.shipit/runtime/main.js', '.shipit/runtime/package.json', '.shipit/runtime/reload-wait.js']);
    for (const name of ['.shipit/runtime/main.js', '.shipit/runtime/reload-wait.js']) {
      const code = String(files[name]!.content);
      const imported = [...code.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
      expect(imported.length).toBeGreaterThan(0);
      expect(imported.filter((from) => !from!.startsWith('node:'))).toEqual([]);
    }
  });

  it('serves from a release directory, with both workers, and warns once of a misnamed hook', async () => {
    release = mkdtempSync(path.join(os.tmpdir(), 'shipit-shipped-'));
    for (const [name, { content }] of Object.entries(nodeRuntimeFiles())) {
      mkdirSync(path.dirname(path.join(release, name)), { recursive: true });
      writeFileSync(path.join(release, name), content);
    }
    // The app's own package.json says CommonJS: the runtime's own says module, nearer to it.
    writeFileSync(path.join(release, 'package.json'), '{ "type": "commonjs" }\n');
    writeFileSync(path.join(release, 'server.js'), "module.exports = { handler: (req, res) => res.end(`pid ${process.pid}`), onReady: async () => {} };\n");
    runtime = startRuntime({ cwd: release, command: [process.execPath, '.shipit/runtime/main.js', '--name', 'shop'], env: { SHIPIT_APP: 'server.js' } });
    await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 15_000);
    const reply = await get(await runtime.port(), '/');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatch(/^pid \d+$/);
    expect(runtime.count((l) => l.msg === 'worker serving')).toBe(2);
    expect(runtime.count((l) => l.level === 'warn' && String(l.msg).startsWith('server.js: export onReady is not called by the runtime'))).toBe(1);
    expect(readFileSync(`/proc/${runtime.child.pid}/cmdline`, 'latin1')).toContain('shipit-runtime: shop master');
  }, 30_000);
});
