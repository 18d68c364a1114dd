import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { copyFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { PythonDepsConfig, ServerConfig } from '../config/types.js';
import type { PythonDepsSpec } from '../host/deps-types.js';
import type { ManifestEntry } from '../host/types.js';
import { ShipitError } from '../lib/errors.js';
import { scanArtifact } from './artifact.js';
import { checkConfigDir, readConfigFile } from './config-path.js';

/** Where a release links its virtualenv (relative to the release; src/remote/deps-scripts.ts makes the link). */
export const VENV_DIR = '.shipit/venv';

/** Bump when what a set holds changes for the same inputs: every host then builds new sets. */
const FORMAT = 'shipit-python-deps-v1';

/**
 * The deployer's half of a Python dependency set: the requirements file and every file of the wheelhouse,
 * hashed with the options that change what gets installed. The host adds its interpreter's version
 * (src/remote/deps-scripts.ts), so the same key on Python 3.11 and 3.12 hosts makes two sets.
 */
export async function pythonDepsSpec(python: PythonDepsConfig, server: Pick<ServerConfig, 'preset' | 'workerClass'>): Promise<PythonDepsSpec> {
  const requirements = await readRequirements(python.requirements);
  const wheels = python.wheelhouse === undefined ? [] : await scanWheelhouse(python.wheelhouse);
  const files: ManifestEntry[] = [
    { path: 'requirements.txt', mode: 0o644, size: requirements.length, sha256: sha256(requirements) },
    ...wheels.map((f) => ({ ...f, path: `wheels/${f.path}` })),
  ];
  const imports = presetImports(server, python.systemSitePackages);
  const key = sha256(
    [
      FORMAT,
      `interpreter ${python.interpreter}`,
      `system-site-packages ${python.systemSitePackages}`,
      `offline ${python.wheelhouse !== undefined}`,
      ...imports.map((i) => `import ${i.module}${i.name === undefined ? '' : ` ${i.name}`}`),
      ...files.map((f) => `file ${f.sha256} ${f.path}`),
    ].join('\n'),
  );
  return {
    kind: 'python',
    key,
    interpreter: python.interpreter,
    systemSitePackages: python.systemSitePackages,
    offline: python.wheelhouse !== undefined,
    imports,
    files,
    openTar: () => openInputsTar(python),
  };
}

/**
 * What the preset's server imports from the virtualenv: checked when a set is built, not at the first restart.
 * The worker class is imported by name, so a misspelt class fails there too, not only a missing module.
 */
export function presetImports(server: Pick<ServerConfig, 'preset' | 'workerClass'>, systemSitePackages = false): PythonDepsSpec['imports'] {
  if (server.preset !== 'gunicorn') return [];
  // With the system's packages visible, telling the user to turn them on would be no help.
  const hint = systemSitePackages
    ? "add it to requirements.txt (with its wheel in the wheelhouse), or install it on the hosts (Debian: gunicorn, python3-uvicorn)"
    : "add it to requirements.txt (with its wheel in the wheelhouse), or set server.python.systemSitePackages: true to use the system's (Debian: gunicorn, python3-uvicorn)";
  const imports: PythonDepsSpec['imports'] = [{ module: 'gunicorn', hint }];
  const { module, name } = splitClass(server.workerClass);
  if (module !== '') imports.push({ module, name, hint });
  return imports;
}

/** `uvicorn.workers.UvicornWorker` → module `uvicorn.workers`, name `UvicornWorker`; gunicorn's own (`sync`) → module ''. */
export function splitClass(workerClass: string): { module: string; name: string } {
  const parts = workerClass.split('.');
  return { module: parts.slice(0, -1).join('.'), name: parts[parts.length - 1]! };
}

async function readRequirements(path: string): Promise<Buffer> {
  const text = await readConfigFile('server.python.requirements', path, 'a pip requirements file', 'the path is relative to the config file; `pip freeze > requirements.txt` makes one');
  // Only the requirements file ships: a line that pulls in another local file or directory would not be there.
  const local = text
    .toString()
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /^(-r|-c|--requirement|--constraint|-e|--editable)(\s|=|$)/.test(l) || /^\.{0,2}\//.test(l));
  if (local !== undefined) {
    throw new ShipitError('BUILD_FAILED', `server.python.requirements: ${path}: "${local}" refers to a local file, which is not shipped to the hosts`, {
      hint: 'list the requirements in the one file, and build local packages into wheels in the wheelhouse',
    });
  }
  return text;
}

async function scanWheelhouse(dir: string) {
  await checkConfigDir('server.python.wheelhouse', dir, 'a directory of wheels', 'make it with `pip wheel -r requirements.txt -w wheels` (the path is relative to the config file)');
  return (await scanArtifact(dir)).files;
}

/**
 * requirements.txt and wheels/ as one gzipped tar, whatever their local names: a staging directory holds a copy
 * of the requirements file and a symlink to the wheelhouse, which tar follows (-h).
 */
function openInputsTar(python: PythonDepsConfig): Readable {
  const out = new PassThrough();
  const stage = mkdtempSync(join(tmpdir(), 'shipit-python-deps-'));
  const cleanup = () => rmSync(stage, { recursive: true, force: true });
  (async () => {
    await copyFile(python.requirements, join(stage, 'requirements.txt'));
    const names = ['requirements.txt'];
    if (python.wheelhouse !== undefined) {
      await symlink(python.wheelhouse, join(stage, 'wheels'));
      names.push('wheels');
    }
    const tar = spawn('tar', ['-C', stage, '-czhf', '-', '--owner=0', '--group=0', '--numeric-owner', '--exclude=__pycache__', ...names], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    tar.stdout.pipe(out, { end: false });
    tar.on('close', (code) => {
      cleanup();
      if (code === 0) out.end();
      else out.destroy(new ShipitError('BUILD_FAILED', `tar of the Python dependencies failed (exit ${code}): ${stderr.trim()}`));
    });
  })().catch((error: unknown) => {
    cleanup();
    out.destroy(error as Error);
  });
  return out;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
