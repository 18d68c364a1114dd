import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { ShipitError } from '../lib/errors.js';
import { packageRoot } from '../lib/package-root.js';
import { SHIPIT_DIR } from './artifact.js';
import { gunicornConf } from './gunicorn-conf.js';

/** Where the gunicorn preset's config file lives in a release (the unit passes it with -c, relative to current). */
export const GUNICORN_CONF = `${SHIPIT_DIR}/gunicorn.conf.py`;

/** The node preset's entry point in a release: shipit's clustered runtime, bundled (dist/runtime). */
export const NODE_RUNTIME_DIR = `${SHIPIT_DIR}/runtime`;
export const NODE_RUNTIME_MAIN = `${NODE_RUNTIME_DIR}/main.js`;

/**
 * The runtime as `npm run build` bundled it (scripts/bundle-runtime.mjs): main.js, the service, and
 * reload-wait.js, the unit's ExecReload, each one ES module importing only node: builtins (sd-notify, when the
 * app has it, is loaded from the app at run time), so these files are all a host needs; the package.json makes
 * Node 18 load them as ES modules. One file each and not tsc's modules: see bundle-runtime.mjs for what that
 * saves every request.
 */
export function nodeRuntimeFiles(): Record<string, { content: string | Buffer }> {
  const dir = runtimeDir();
  const files: Record<string, { content: string | Buffer }> = {
    [`${NODE_RUNTIME_DIR}/package.json`]: { content: '{ "type": "module", "private": true }\n' },
  };
  // Whatever scripts/bundle-runtime.mjs wrote there: one bundle per entry (main.js, reload-wait.js).
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.js')).sort()) {
    files[`${NODE_RUNTIME_DIR}/${name}`] = { content: readFileSync(join(dir, name)) };
  }
  return files;
}

function runtimeDir(): string {
  // The runtime that ships is always the build's bundle, also when this code runs from the sources (tests).
  const dir = join(packageRoot(), 'dist/runtime');
  if (!existsSync(join(dir, 'main.js'))) {
    throw new ShipitError('BUILD_FAILED', `shipit's node runtime is not built (${dir}/main.js is missing)`, { hint: 'run `npm run build` in the shipit package' });
  }
  return dir;
}

/** Files shipit adds to a release for its preset, under .shipit/. */
export function presetFiles(config: ResolvedConfig): Record<string, { content: string | Buffer; mode?: number }> {
  switch (config.server.preset) {
    case 'gunicorn':
      return { [GUNICORN_CONF]: { content: gunicornConf() } };
    case 'node':
      return nodeRuntimeFiles();
    case 'command':
      return {};
  }
}
