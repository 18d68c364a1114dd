import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRelease } from '../../../src/cli/release.js';
import { loadConfig } from '../../../src/config/load.js';
import { resolveEnvironment } from '../../../src/config/resolve.js';

/** A project with `build.dir: '.'` (shipit init's default) holding a developer's local files. */
async function shipped(buildSection: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'shipit-exclude-'));
  process.env.SHIPIT_CACHE_DIR = mkdtempSync(join(tmpdir(), 'shipit-exclude-cache-'));
  writeFileSync(
    join(dir, 'deploy.config.ts'),
    `export default { app: 'hello', build: ${buildSection}, server: { preset: 'gunicorn', module: 'app.main:app' }, environments: { production: { hosts: ['web1'] } } };\n`,
  );
  mkdirSync(join(dir, 'app'));
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, 'app/main.py'), 'app = None\n');
  writeFileSync(join(dir, '.git/HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(dir, '.env'), 'DATABASE_URL=postgres://me:laptop@localhost/dev\n');
  writeFileSync(join(dir, '.env.production'), 'DATABASE_URL=postgres://prod\n');
  writeFileSync(join(dir, 'notes.txt'), 'todo\n');
  const { config, filepath } = await loadConfig({ cwd: dir });
  const resolved = resolveEnvironment(config, 'production', { configFile: filepath });
  const { spec } = await buildRelease(resolved, { skipBuild: true }, { emit: () => {} });
  return spec.files.map((f) => f.path).filter((p) => !p.startsWith('.shipit/'));
}

afterEach(() => delete process.env.SHIPIT_CACHE_DIR);

describe('build.exclude in a deploy', () => {
  it("by default, .env files and .git of build.dir '.' never ship", async () => {
    expect(await shipped("{ dir: '.' }")).toEqual(['app/main.py', 'notes.txt']);
  });

  it('a list of its own replaces the default', async () => {
    expect(await shipped("{ dir: '.', exclude: ['notes.txt', '.env'] }")).toEqual(['.env.production', 'app/main.py']);
    expect(await shipped("{ dir: '.', exclude: [] }")).toEqual(['.env', '.env.production', 'app/main.py', 'notes.txt']);
  });
});
