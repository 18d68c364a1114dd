import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openArtifactTar, openTar, scanArtifact, withGeneratedFiles } from '../../../src/build/artifact.js';

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shipit-artifact-'));
  mkdirSync(join(dir, 'app/__pycache__'), { recursive: true });
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, 'app/main.py'), 'print("hi")\n');
  writeFileSync(join(dir, 'app/__pycache__/main.cpython-311.pyc'), 'x');
  writeFileSync(join(dir, '.git/HEAD'), 'ref');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(dir, 'run.sh'), 0o755);
  return dir;
}

describe('scanArtifact', () => {
  it('records path, mode, size and sha256, leaving out VCS data and bytecode', async () => {
    const dir = tree();
    const artifact = await scanArtifact(dir);
    expect(artifact.files).toEqual([
      { path: 'app/main.py', mode: 0o644, size: 12, sha256: createHash('sha256').update('print("hi")\n').digest('hex') },
      { path: 'run.sh', mode: 0o755, size: 10, sha256: createHash('sha256').update('#!/bin/sh\n').digest('hex') },
    ]);
    expect(artifact.bytes).toBe(22);
  });

  it('build.exclude patterns leave files and whole directories out of the manifest and the tar; without them they ship', async () => {
    const dir = tree();
    mkdirSync(join(dir, 'config'));
    mkdirSync(join(dir, 'tmp/cache'), { recursive: true });
    writeFileSync(join(dir, '.env'), 'API_TOKEN=laptop\n');
    writeFileSync(join(dir, '.env.production'), 'API_TOKEN=prod\n');
    writeFileSync(join(dir, 'config/.env.local'), 'X=1\n');
    writeFileSync(join(dir, 'config/settings.py'), 'X = 1\n');
    writeFileSync(join(dir, 'tmp/cache/big'), 'x');
    const all = await scanArtifact(dir);
    expect(all.files.map((f) => f.path)).toEqual(['.env', '.env.production', 'app/main.py', 'config/.env.local', 'config/settings.py', 'run.sh', 'tmp/cache/big']);
    const some = await scanArtifact(dir, { patterns: ['.git', '.env', '.env.*', 'tmp/'] });
    expect(some.files.map((f) => f.path)).toEqual(['app/main.py', 'config/settings.py', 'run.sh']);
    expect(some.bytes).toBe(12 + 6 + 10);
    // What ships is what the manifest lists: the tar of every listed path holds nothing else.
    const chunks: Buffer[] = [];
    for await (const chunk of openArtifactTar(some, some.files.map((f) => f.path))) chunks.push(chunk as Buffer);
    const listed = execFileSync('tar', ['-tzf', '-'], { input: Buffer.concat(chunks) }).toString().trim().split('\n').sort();
    expect(listed).toEqual(['app/main.py', 'config/settings.py', 'run.sh']);
  });

  it('refuses symlinks and a missing dir with the path', async () => {
    const dir = tree();
    symlinkSync('/etc/passwd', join(dir, 'link'));
    await expect(scanArtifact(dir)).rejects.toThrow(/link: symbolic links/);
    await expect(scanArtifact(join(dir, 'nope'))).rejects.toThrow(/cannot read build.dir .*nope: ENOENT/);
    await expect(scanArtifact(dir)).rejects.toMatchObject({ hint: 'copy the target into the build dir instead' });
  });

  it("points a link among installed dependencies at the dependency sets (a node project's .bin, a venv's python)", async () => {
    const node = tree();
    mkdirSync(join(node, 'node_modules/.bin'), { recursive: true });
    symlinkSync('../typescript/bin/tsc', join(node, 'node_modules/.bin/tsc'));
    await expect(scanArtifact(node)).rejects.toMatchObject({ message: 'node_modules/.bin/tsc: symbolic links in the artifact are not supported', hint: expect.stringContaining('set server.npm') });
    const python = tree();
    mkdirSync(join(python, '.venv/bin'), { recursive: true });
    symlinkSync('/usr/bin/python3', join(python, '.venv/bin/python'));
    await expect(scanArtifact(python)).rejects.toMatchObject({ hint: expect.stringContaining('set server.python') });
    // build.dir '.' (what `shipit init` writes) holds the virtualenv: the hint says how to leave it out there,
    // and the list it gives does leave it out.
    const hint = ((await scanArtifact(python).catch((e: unknown) => e)) as { hint: string }).hint;
    expect(hint).toMatch(/build\.exclude: \['\.venv\/'\]$/);
    const patterns = JSON.parse(/build\.exclude: (\[.*\])$/.exec(hint)![1]!.replace(/'/g, '"')) as string[];
    expect((await scanArtifact(python, { patterns })).files.map((f) => f.path)).not.toContainEqual(expect.stringMatching(/venv/));
    const plain = tree();
    mkdirSync(join(plain, 'venv/bin'), { recursive: true });
    symlinkSync('/usr/bin/python3', join(plain, 'venv/bin/python3'));
    await expect(scanArtifact(plain)).rejects.toMatchObject({ hint: expect.stringContaining("'venv/']") });
  });
});

describe('openTar', () => {
  it('streams a gzipped tar of exactly the given files, modes kept', async () => {
    const dir = tree();
    const chunks: Buffer[] = [];
    for await (const chunk of openTar(dir, ['run.sh'])) chunks.push(chunk as Buffer);
    const out = mkdtempSync(join(tmpdir(), 'shipit-untar-'));
    execFileSync('tar', ['-C', out, '-xzpf', '-'], { input: Buffer.concat(chunks) });
    expect(readFileSync(join(out, 'run.sh'), 'utf8')).toBe('#!/bin/sh\n');
    expect(execFileSync('stat', ['-c', '%a', join(out, 'run.sh')]).toString().trim()).toBe('755');
    expect(execFileSync('find', [out, '-type', 'f']).toString().trim().split('\n')).toHaveLength(1);
  });
});

describe('openTar, read late', () => {
  it('keeps the bytes when the reader attaches after tar has exited (as an SSH channel does)', async () => {
    const dir = tree();
    const stream = openTar(dir, ['run.sh', 'app/main.py']);
    await new Promise((r) => setTimeout(r, 300));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const listing = execFileSync('tar', ['-tzf', '-'], { input: Buffer.concat(chunks) }).toString().trim().split('\n');
    expect(listing.sort()).toEqual(['app/main.py', 'run.sh']);
  });
});

describe('generated files', () => {
  it('ship beside the build dir under .shipit/, hashed, in one concatenated tar stream', async () => {
    const dir = tree();
    const artifact = await withGeneratedFiles(await scanArtifact(dir), { '.shipit/runtime/main.js': { content: 'x()\n' } });
    expect(artifact.files.map((f) => f.path)).toEqual(['app/main.py', 'run.sh', '.shipit/runtime/main.js']);
    expect(artifact.bytes).toBe(26);
    const chunks: Buffer[] = [];
    for await (const chunk of openArtifactTar(artifact, ['run.sh', '.shipit/runtime/main.js'])) chunks.push(chunk as Buffer);
    const out = mkdtempSync(join(tmpdir(), 'shipit-untar-'));
    execFileSync('tar', ['-C', out, '--ignore-zeros', '-xzpf', '-'], { input: Buffer.concat(chunks) });
    expect(readFileSync(join(out, '.shipit/runtime/main.js'), 'utf8')).toBe('x()\n');
    expect(readFileSync(join(out, 'run.sh'), 'utf8')).toBe('#!/bin/sh\n');
  });

  it('refuses a build dir that has its own .shipit/', async () => {
    const dir = tree();
    mkdirSync(join(dir, '.shipit'));
    writeFileSync(join(dir, '.shipit/x'), '');
    await expect(withGeneratedFiles(await scanArtifact(dir), { '.shipit/y': { content: '' } })).rejects.toThrow(/\.shipit\/x: the build dir must not contain \.shipit\//);
  });
});
