import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { initCommand } from '../../../src/cli/commands/init.js';
import { report } from '../../../src/cli/main.js';
import { depsExcludes } from '../../../src/build/deps.js';
import { loadConfig } from '../../../src/config/load.js';
import { resolveEnvironment } from '../../../src/config/resolve.js';
import { listConfigKeys } from '../../../src/config/schema.js';
import { appNameFrom, omittedKeys, renderInitConfig } from '../../../src/scaffold/init-config.js';

beforeEach(() => jest.spyOn(process.stdout, 'write').mockImplementation(() => true));
afterEach(() => jest.restoreAllMocks());

describe('shipit init', () => {
  it.each(['gunicorn', 'node', 'command'] as const)('--preset %s writes a config that the real loader accepts', async (preset) => {
    const dir = mkdtempSync(join(tmpdir(), `shipit-init-${preset}-`));
    await initCommand({ preset }, dir);
    const { config, filepath } = await loadConfig({ cwd: dir });
    expect(filepath).toBe(join(dir, 'deploy.config.ts'));
    const resolved = resolveEnvironment(config, 'production', { configFile: filepath });
    expect(resolved.server.preset).toBe(preset);
    expect(resolved.app).toBe(appNameFrom(dir.split('/').at(-1)!));
    expect(resolved.hosts.map((h) => `${h.user}@${h.host}`)).toEqual(['deploy@web1.example.com', 'deploy@web2.example.com']);
  });

  it('--preset node builds the dependencies from package-lock.json instead of shipping the local node_modules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipit-init-node-npm-'));
    await initCommand({ preset: 'node' }, dir);
    const { config, filepath } = await loadConfig({ cwd: dir });
    const resolved = resolveEnvironment(config, 'production', { configFile: filepath });
    expect(resolved.build.dir).toBe(dir);
    expect(resolved.server.npm).toEqual({ lockfile: join(dir, 'package-lock.json') });
    expect(depsExcludes(resolved)).toEqual(['node_modules']);
    expect(readFileSync(filepath, 'utf8')).toContain("    npm: {\n      // package-lock.json (relative to the config file;");
    expect(readFileSync(filepath, 'utf8')).toContain("      lockfile: 'package-lock.json',\n");
    expect(readFileSync(filepath, 'utf8')).toContain("      // nodedir: 'vendor/libnode-dev/usr',\n    },");
  });

  it("--preset node in a TypeScript project ships tsc's outDir: build.command, build.dir, server.module from tsconfig.json and package.json", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipit-init-ts-'));
    // tsconfig.json as people write it: comments, a trailing comma, a "//" inside a string.
    writeFileSync(join(dir, 'tsconfig.json'), '{\n  // compiled output\n  "compilerOptions": { "outDir": "./build/", /* ESM */ "module": "NodeNext", "baseUrl": "http://x", },\n}\n');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'svc', type: 'module', main: 'build/main.js', scripts: { build: 'tsc' } }));
    await initCommand({ preset: 'node' }, dir);
    const { config, filepath } = await loadConfig({ cwd: dir });
    const resolved = resolveEnvironment(config, 'production', { configFile: filepath });
    expect(resolved.build.dir).toBe(join(dir, 'build'));
    expect(resolved.build.command).toBe(`npm run build && echo '{"type":"module"}' > build/package.json`);
    expect(resolved.server.module).toBe('main.js');
    expect(resolved.server.npm).toEqual({ lockfile: join(dir, 'package-lock.json') });
    expect(process.stdout.write).toHaveBeenCalledWith(expect.stringContaining('TypeScript project (tsconfig.json outDir build): build.command runs npm run build, build.dir is build, server.module is main.js (with build/package.json saying "type": "module")'));

    // CommonJS without a build script: tsc itself, no package.json to write, server.js when main is elsewhere.
    const cjs = mkdtempSync(join(tmpdir(), 'shipit-init-ts-cjs-'));
    writeFileSync(join(cjs, 'tsconfig.json'), '{ "compilerOptions": { "outDir": "dist" } }');
    writeFileSync(join(cjs, 'package.json'), JSON.stringify({ name: 'svc', main: 'index.js' }));
    await initCommand({ preset: 'node' }, cjs);
    const loaded = await loadConfig({ cwd: cjs });
    const r = resolveEnvironment(loaded.config, 'production', { configFile: loaded.filepath });
    expect([r.build.command, r.build.dir, r.server.module]).toEqual(['npx tsc', join(cjs, 'dist'), 'server.js']);
  });

  it('comments every key with its schema description and shows defaults commented out', () => {
    const text = renderInitConfig('gunicorn', 'hello');
    const omitted = omittedKeys('gunicorn');
    expect(omitted).toEqual(expect.arrayContaining(['server.command', 'server.notify']));
    for (const key of listConfigKeys()) {
      if (omitted.some((o) => key.path === o || key.path.startsWith(`${o}.`))) continue;
      const firstWords = key.description.split(/\s+/).slice(0, 6).join(' ');
      expect(text.replace(/\n\s*(\/\/ +)+/g, ' ')).toContain(firstWords);
    }
    expect(text).toContain("  //   maxParallel: '25%',");
    expect(text).toContain("    // interval: '1s',");
    expect(text).toContain("    module: 'app.main:app',");
    expect(renderInitConfig('command', 'x')).not.toContain('workerClass');
  });

  it('follows every key\'s description with that key\'s line (an optional key without a default shows an example)', () => {
    for (const preset of ['gunicorn', 'node', 'command'] as const) {
      const lines = renderInitConfig(preset, 'hello').split('\n');
      const omitted = omittedKeys(preset);
      for (const key of listConfigKeys()) {
        if (key.path.includes('<name>') || key.path === 'environments' || key.path === 'server.secrets') continue;
        if (omitted.some((o) => key.path === o || key.path.startsWith(`${o}.`))) continue;
        const name = key.path.split('.').at(-1)!;
        const text = (l: string) => l.replace(/^\s*(\/\/ +)+/, '');
        const description = key.description.replace(/\s+/g, ' ');
        const at = lines.findIndex((l) => description.startsWith(text(l)) && text(l).length > 0);
        expect([key.path, at >= 0]).toEqual([key.path, true]);
        // The description's lines, then the key's own (commented out or not).
        let said = '';
        let i = at;
        while (said.length < description.length && i < lines.length) said = `${said} ${text(lines[i++]!)}`.trim();
        expect([key.path, said]).toEqual([key.path, description]);
        expect([key.path, lines[i]!.trim()]).toEqual([key.path, expect.stringMatching(new RegExp(`^(// +)*${name}: `))]);
      }
    }
  });

  it('refuses to overwrite an existing config: exit 2 with a hint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipit-init-exists-'));
    writeFileSync(join(dir, 'deploy.config.ts'), '// mine\n');
    const error = await initCommand({}, dir).catch((e: unknown) => e);
    let printed = '';
    expect(report(error, (t) => (printed += t))).toBe(2);
    expect(printed).toMatch(/deploy\.config\.ts already exists .*not overwriting/);
    expect(printed).toMatch(/^hint: /m);
    expect(readFileSync(join(dir, 'deploy.config.ts'), 'utf8')).toBe('// mine\n');
  });

  it('names the app after the directory', () => {
    expect(appNameFrom('My_Service.v2')).toBe('my-service-v2');
    expect(appNameFrom('2fast')).toBe('fast');
    expect(appNameFrom('___')).toBe('app');
  });
});
