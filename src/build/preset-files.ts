import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { ShipitError } from '../lib/errors.js';
import { packageRoot } from '../lib/package-root.js';
import { SHIPIT_DIR } from './artifact.js';
import { gunicornConf } from './gunicorn-conf.js';

/** Where the gunicorn preset's config file lives in a release (the unit passes it with -c, relative to current). */
export const GUNICORN_CONF = `${SHIPIT_DIR}/gunicorn.conf.py`;

/** The node preset's entry point in a release: shipit's clustered runtime, compiled (dist/src/runtime). */
export const NODE_RUNTIME_DIR = `${SHIPIT_DIR}/runtime`;
export const NODE_RUNTIME_MAIN = `${NODE_RUNTIME_DIR}/main.js`;

/**
 * The compiled runtime, read from this package's dist/. It imports only node: builtins (and sd-notify when the
 * app has it), so these files are all a host needs; the package.json makes Node 18 load them as ES modules.
 */
export function nodeRuntimeFiles(): Record<string, { content: string | Buffer }> {
  const dir = runtimeDir();
  const files: Record<string, { content: string | Buffer }> = {
    [`${NODE_RUNTIME_DIR}/package.json`]: { content: '{ "type": "module", "private": true }\n' },
  };
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.js')).sort()) {
    files[`${NODE_RUNTIME_DIR}/${name}`] = { content: readFileSync(join(dir, name)) };
  }
  return files;
}

function runtimeDir(): string {
  // The runtime that ships is always tsc's output, also when this code runs from the sources (tests).
  const dir = join(packageRoot(), 'dist/src/runtime');
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
