import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRelease } from '../../../src/cli/release.js';
import { describeLeftOut } from '../../../src/cli/render/left-out.js';
import { loadConfig } from '../../../src/config/load.js';
import { resolveEnvironment } from '../../../src/config/resolve.js';

/** A project with `build.dir: '.'` (shipit init's default) holding a developer's local files. */
async function built(buildSection: string) {
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
  const { spec, leftOut } = await buildRelease(resolved, { skipBuild: true }, { emit: () => {} });
  return { paths: spec.files.map((f) => f.path).filter((p) => !p.startsWith('.shipit/')), leftOut };
}

async function shipped(buildSection: string): Promise<string[]> {
  return (await built(buildSection)).paths;
}

afterEach(() => delete process.env.SHIPIT_CACHE_DIR);

describe('build.exclude in a deploy', () => {
  it("by default, .env files and .git of build.dir '.' never ship", async () => {
    expect(await shipped("{ dir: '.' }")).toEqual(['app/main.py', 'notes.txt']);
  });

  it('a list of its own adds to the default: .env files still stay home (a user adding *.log must not ship them)', async () => {
    expect(await shipped("{ dir: '.', exclude: ['notes.txt'] }")).toEqual(['app/main.py']);
    const { paths, leftOut } = await built("{ dir: '.', exclude: ['*.log'] }");
    expect(paths).toEqual(['app/main.py', 'notes.txt']);
    expect(describeLeftOut(leftOut)).toBe('left out of build.dir: .env, .env.production (build.exclude); .git/, deploy.config.ts (never shipped)');
    expect(await shipped("{ dir: '.', exclude: [] }")).toEqual(['app/main.py', 'notes.txt']);
    // The list recommended before still works as it did.
    expect(await shipped("{ dir: '.', exclude: ['.git', '.env', '.env.*', 'notes.txt'] }")).toEqual(['app/main.py']);
  });

  it('a file the default leaves out ships only when a negation names it, and what was left out is still said', async () => {
    expect(await shipped("{ dir: '.', exclude: ['!.env.production'] }")).toEqual(['.env.production', 'app/main.py', 'notes.txt']);
    // The default's own patterns negated name them: deliberate, they ship (src/build/exclude.ts).
    expect(await shipped("{ dir: '.', exclude: ['!.env', '!.env.*'] }")).toEqual(['.env', '.env.production', 'app/main.py', 'notes.txt']);
    // Any other negation with a wildcard names no secret file: it ships none.
    expect(await shipped("{ dir: '.', exclude: ['!*.production'] }")).toEqual(['app/main.py', 'notes.txt']);
    // Last match wins, as in .gitignore: a later pattern excludes it again.
    expect(await shipped("{ dir: '.', exclude: ['!.env.*', '.env.production'] }")).toEqual(['app/main.py', 'notes.txt']);
  });
});

/** A Python project in a git work tree, shipped as it is: the deployer's own files lie beside the app's. */
function gitProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shipit-gitignore-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q');
  const files: Record<string, string> = {
    '.gitignore': 'node_modules/\n.venv/\nsecrets.json\n*.pem\n/dist\n',
    'app/main.py': 'app = None\n',
    'app/.gitignore': 'local_settings.py\n',
    'app/local_settings.py': 'DEBUG = True\n',
    'secrets.json': '{"token": "laptop"}\n',
    'deploy-key.pem': 'PRIVATE\n',
    'node_modules/left-pad/index.js': 'module.exports = 1;\n',
    'vendor/keep.pem': 'PUBLIC CERT, tracked on purpose\n',
    'dist/app.js': 'built\n',
    'notes.txt': 'untracked, not ignored: ships\n',
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  // A local virtualenv is full of symbolic links, which are refused unless left out.
  mkdirSync(join(dir, '.venv/bin'), { recursive: true });
  execFileSync('ln', ['-s', '/usr/bin/python3', join(dir, '.venv/bin/python')]);
  git('add', '.gitignore', 'app/main.py', 'app/.gitignore');
  git('add', '-f', 'vendor/keep.pem');
  return dir;
}

async function release(dir: string, buildSection: string) {
  process.env.SHIPIT_CACHE_DIR = mkdtempSync(join(tmpdir(), 'shipit-exclude-cache-'));
  writeFileSync(
    join(dir, 'deploy.config.ts'),
    `export default { app: 'hello', build: ${buildSection}, server: { preset: 'command', command: 'true' }, environments: { production: { hosts: ['web1'] } } };\n`,
  );
  const { config, filepath } = await loadConfig({ cwd: dir });
  const resolved = resolveEnvironment(config, 'production', { configFile: filepath });
  const result = await buildRelease(resolved, { skipBuild: true }, { emit: () => {} });
  return { ...result, paths: result.spec.files.map((f) => f.path).filter((p) => !p.startsWith('.shipit/')) };
}

describe('build.gitignore: what git ignores in build.dir does not ship', () => {
  it("a project shipped with build.dir '.' sends what git tracks or would track, and says what it left out", async () => {
    const { paths, leftOut, git } = await release(gitProject(), "{ dir: '.' }");
    expect(git).toBe('applied');
    expect(paths).toEqual(['.gitignore', 'app/.gitignore', 'app/main.py', 'notes.txt', 'vendor/keep.pem']);
    expect(leftOut.filter((l) => l.reason === 'git').map((l) => l.path).sort()).toEqual(
      ['.venv/', 'app/local_settings.py', 'deploy-key.pem', 'dist/', 'node_modules/', 'secrets.json'].sort(),
    );
    expect(leftOut).toContainEqual({ path: '.git/', reason: 'shipit' });
    expect(leftOut).toContainEqual({ path: 'deploy.config.ts', reason: 'shipit' });
  });

  it('a build.dir that git ignores as a whole (a build output) ships whole', async () => {
    const dir = gitProject();
    mkdirSync(join(dir, 'dist/node_modules'));
    writeFileSync(join(dir, 'dist/node_modules/x.js'), 'bundled\n');
    const { paths, git } = await release(dir, "{ dir: 'dist' }");
    expect(git).toBe('dir-ignored');
    expect(paths).toEqual(['app.js', 'node_modules/x.js']);
  });

  it('build.gitignore: false ships what build.exclude lets through', async () => {
    const dir = gitProject();
    execFileSync('rm', ['-r', join(dir, '.venv')]);
    const { paths, git } = await release(dir, "{ dir: '.', gitignore: false }");
    expect(git).toBe('off');
    expect(paths).toContain('secrets.json');
    expect(paths).toContain('node_modules/left-pad/index.js');
  });

  it('a build.dir reached through a symbolic link into a work tree is in that work tree', async () => {
    const repo = gitProject();
    const project = mkdtempSync(join(tmpdir(), 'shipit-linked-'));
    symlinkSync(join(repo, 'app'), join(project, 'app'));
    const { paths, git } = await release(project, "{ dir: 'app' }");
    expect(git).toBe('applied');
    expect(paths).toEqual(['.gitignore', 'main.py']); // not local_settings.py, which app/.gitignore ignores
  });

  it("what a nested work tree's own .gitignore keeps out does not ship either: an untracked repository, and a submodule", async () => {
    const dir = gitProject();
    const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd, stdio: 'ignore' });
    for (const [name, secret] of [['plugins/vendored', 'secrets.json'], ['libs/sub', 'key.pem']] as const) {
      const root = join(dir, name);
      mkdirSync(root, { recursive: true });
      git(root, 'init', '-q');
      writeFileSync(join(root, '.gitignore'), `${secret}\n`);
      writeFileSync(join(root, secret), 'PRIVATE\n');
      writeFileSync(join(root, 'code.py'), 'x = 1\n');
    }
    // libs/sub is a submodule of the project (a gitlink in its index), plugins/vendored an untracked repository.
    git(join(dir, 'libs/sub'), 'add', '.');
    git(join(dir, 'libs/sub'), 'commit', '-qm', 'sub');
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: join(dir, 'libs/sub'), encoding: 'utf8' }).trim();
    git(dir, 'update-index', '--add', '--cacheinfo', `160000,${head},libs/sub`);
    const { paths, leftOut } = await release(dir, "{ dir: '.' }");
    expect(paths.filter((p) => p.startsWith('libs/') || p.startsWith('plugins/'))).toEqual([
      'libs/sub/.gitignore',
      'libs/sub/code.py',
      'plugins/vendored/.gitignore',
      'plugins/vendored/code.py',
    ]);
    expect(leftOut).toContainEqual({ path: 'plugins/vendored/secrets.json', reason: 'git' });
    expect(leftOut).toContainEqual({ path: 'libs/sub/key.pem', reason: 'git' });
  });

  it('outside a git work tree, nothing is left out for git', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipit-nogit-'));
    writeFileSync(join(dir, 'secrets.json'), '{}\n');
    writeFileSync(join(dir, '.gitignore'), 'secrets.json\n');
    const { paths, git } = await release(dir, "{ dir: '.' }");
    expect(git).toBe('no-repo');
    expect(paths).toEqual(['.gitignore', 'secrets.json']);
  });

  it('a repository git cannot read fails the build naming build.dir and the way out, rather than ship what it ignores', async () => {
    const dir = gitProject();
    writeFileSync(join(dir, '.git/index'), 'not an index');
    await expect(release(dir, "{ dir: '.' }")).rejects.toThrow(/cannot list the files git ignores in build.dir .*git ls-files failed/);
  });
});
