import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, packageEntry } from '../../../src/config/load.js';
import { resolveEnvironment } from '../../../src/config/resolve.js';
import { ShipitError } from '../../../src/lib/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipit-load-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(file: string, text: string): string {
  const path = join(dir, file);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

async function loadError(options: Parameters<typeof loadConfig>[0]): Promise<ShipitError> {
  try {
    await loadConfig(options);
  } catch (error) {
    if (error instanceof ShipitError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to fail');
}

const MINIMAL = `{ app: 'hello', server: { preset: 'gunicorn', module: 'app.main:app' }, environments: { production: { hosts: ['web1'] } } }`;

describe('loadConfig', () => {
  it('loads a TypeScript config that imports another .ts file and defineConfig from "shipit" (not installed here)', async () => {
    write('lib/hosts.ts', `export const hosts: string[] = ['deploy@web1.example.com', 'web2:2222'];\nexport type Unused = { a: number };\n`);
    const path = write(
      'deploy.config.ts',
      `import { defineConfig, type ShipitConfigInput } from 'shipit';
import { hosts, type Unused } from './lib/hosts';
const port: number = 8001;
const config: ShipitConfigInput = defineConfig({
  app: 'hello',
  build: { dir: 'dist' },
  server: { preset: 'gunicorn', module: 'app.main:app', port, secrets: { DATABASE_URL: 'postgres://x' } },
  environments: { production: { hosts } },
});
export default config;
`,
    );
    const { config, filepath } = await loadConfig({ cwd: dir });
    expect(filepath).toBe(path);
    const resolved = resolveEnvironment(config, 'production', { configFile: filepath });
    expect(resolved.server.port).toBe(8001);
    expect(resolved.build.dir).toBe(join(dir, 'dist'));
    expect(resolved.hosts.map((h) => h.name)).toEqual(['web1.example.com', 'web2:2222']);
  });

  it('resolves "shipit" to this package entry (src/index.ts from source)', () => {
    expect(packageEntry()).toMatch(/[/\\]src[/\\]index\.ts$/);
  });

  it('searches the documented places in order: deploy.config.ts wins over .shipitrc.json and package.json', async () => {
    write('package.json', JSON.stringify({ name: 'x', shipit: { app: 'from-package' } }));
    write('.shipitrc.json', JSON.stringify({ app: 'from-rc' }));
    write('deploy.config.ts', `export default ${MINIMAL};`);
    const { config } = await loadConfig({ cwd: dir });
    expect(config.app).toBe('hello');
  });

  it('reads package.json#shipit and YAML rc files', async () => {
    write(
      'package.json',
      JSON.stringify({ name: 'x', shipit: { app: 'pkg', server: { preset: 'gunicorn', module: 'a:app' }, environments: { prod: { hosts: ['h1'] } } } }),
    );
    expect((await loadConfig({ cwd: dir })).config.app).toBe('pkg');
    write('.shipitrc.yaml', 'app: yaml\nserver: { preset: gunicorn, module: "a:app" }\nenvironments:\n  prod:\n    hosts: [h1]\n');
    expect((await loadConfig({ cwd: dir })).config.app).toBe('yaml');
  });

  it('loads .mjs configs through the same alias', async () => {
    write('deploy.config.mjs', `import { defineConfig } from 'shipit';\nexport default defineConfig(${MINIMAL});\n`);
    expect((await loadConfig({ cwd: dir })).config.app).toBe('hello');
  });

  it('loads an explicit --config path relative to cwd', async () => {
    write('ops/prod.config.ts', `export default ${MINIMAL};`);
    const { filepath } = await loadConfig({ cwd: dir, configPath: 'ops/prod.config.ts' });
    expect(filepath).toBe(join(dir, 'ops/prod.config.ts'));
  });

  it('sees an edited config on the next load (no module cache)', async () => {
    write('deploy.config.ts', `export default ${MINIMAL};`);
    await loadConfig({ cwd: dir });
    write('deploy.config.ts', `export default ${MINIMAL.replace("'hello'", "'hello2'")};`);
    expect((await loadConfig({ cwd: dir })).config.app).toBe('hello2');
  });

  it('CONFIG_NOT_FOUND lists the places searched and hints shipit init', async () => {
    const error = await loadError({ cwd: dir });
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.message).toBe(
      `no shipit config in ${dir}: looked for deploy.config.ts, deploy.config.mts, deploy.config.js, deploy.config.mjs, deploy.config.cjs, ` +
        'shipit.config.ts, shipit.config.js, shipit.config.mjs, .shipitrc, .shipitrc.json, .shipitrc.yaml, .shipitrc.yml, .shipitrc.js, ' +
        '.shipitrc.mjs, .shipitrc.ts, package.json#shipit',
    );
    expect(error.hint).toContain('shipit init');
  });

  it('CONFIG_NOT_FOUND for a missing --config file', async () => {
    const error = await loadError({ cwd: dir, configPath: 'nope.ts' });
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.message).toBe(`config file ${join(dir, 'nope.ts')} does not exist`);
  });

  it('a syntax error is CONFIG_INVALID naming the file', async () => {
    const path = write('deploy.config.ts', `export default { app: 'hello', ;\n`);
    const error = await loadError({ cwd: dir });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(`${path}: invalid configuration (1 problem):\n  - cannot be loaded: ParseError: Unexpected token (at ${path}:1:31)`);
    expect(error.hint).toContain('a syntax error');
  });

  it('an exception thrown by the config is CONFIG_INVALID naming the file and the message', async () => {
    const path = write('deploy.config.ts', `import { lab } from './lab';\nexport default lab();\n`);
    const lab = write('lab.ts', `export function lab() {\n  throw new Error('lab file missing');\n}\n`);
    const error = await loadError({ cwd: dir });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(`${path}: invalid configuration (1 problem):\n  - cannot be loaded: lab file missing (at ${lab}:2:9)`);
    // No key to name: the hint points at the line that threw, not at key paths (a new user's config that reads an
    // unset process.env variable got "each line names the key" and looked for a key).
    expect(error.hint).toContain('its code threw at the line named above');
    expect(error.hint).not.toContain('names the key');
  });

  it('a config that reads an unset environment variable says which line threw and what to do', async () => {
    const path = write('deploy.config.ts', `const token = process.env.SHIPIT_TEST_UNSET_VAR;\nexport default { app: token.trim() };\n`);
    const error = await loadError({ cwd: dir });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`cannot be loaded: Cannot read properties of undefined (reading 'trim') (at ${path}:2:`);
    expect(error.hint).toContain('process.env variable that is not set');
    expect(error.hint).toContain('shipit units <env>');
  });

  it('an empty config is CONFIG_INVALID', async () => {
    const path = write('.shipitrc.json', '');
    // An empty file is skipped by the search; given explicitly, it is an error.
    expect((await loadError({ cwd: dir })).code).toBe('CONFIG_NOT_FOUND');
    const error = await loadError({ cwd: dir, configPath: '.shipitrc.json' });
    expect(error.message).toBe(`${path}: invalid configuration (1 problem):\n  - is empty: export default defineConfig({ app, server, environments })`);
  });

  it('validation problems name the file and every problem, and never a secret value', async () => {
    const path = write(
      'deploy.config.ts',
      `export default {
  app: 'Hello',
  server: { preset: 'gunicorn', module: 'app.main:app', secrets: { TOKEN: 's3cr3t-value', BAD: 42 } },
  environments: { production: { hosts: ['web 2'], server: { secrets: { OTHER: 's3cr3t-value' }, port: 70000 } } },
};`,
    );
    const error = await loadError({ cwd: dir });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(
      `${path}: invalid configuration (4 problems):\n` +
        '  - app: "Hello" is not a valid app name: expected lowercase letters, digits and dashes, starting with a letter (it names <app>.service and /srv/<app>)\n' +
        '  - server.secrets.BAD: is not a string: secret values must be strings\n' +
        '  - environments.production.server.port: 70000 is too big: expected at most 65535\n' +
        '  - environments.production.hosts[0]: "web 2" is not a valid host: expected "[user@]host[:port]" or { host, user?, port?, name? } with a DNS name, an IPv4 address or a bracketed IPv6 address',
    );
    expect(error.message).not.toContain('s3cr3t');
    expect(error.message).not.toContain('42');
  });
});
