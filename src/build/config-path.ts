import { readFile, stat } from 'node:fs/promises';
import { ShipitError } from '../lib/errors.js';

/**
 * Reading a file the config names (server.npm.lockfile, server.python.requirements, …). A path that leads to
 * nothing is a mistake in the config, like a misspelt server.module: CONFIG_INVALID (exit 2) naming the field and
 * the path looked for, not a build failure (exit 1), which would send the user to build.command's output. Other
 * errors (EACCES, EIO) are about the deployer's disk, not the config, and stay BUILD_FAILED.
 */
export async function readConfigFile(field: string, path: string, what: string, hint: string): Promise<Buffer> {
  return readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw configPathError(field, path, what, hint, error);
  });
}

/** A directory the config names (server.python.wheelhouse, server.npm.nodedir): missing or a file is a config error. */
export async function checkConfigDir(field: string, path: string, what: string, hint: string): Promise<void> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw configPathError(field, path, what, hint, error);
  });
  if (!info.isDirectory()) throw new ShipitError('CONFIG_INVALID', `${field}: ${path} is not a directory (expected ${what})`, { hint });
}

/** ENOENT: nothing there; ENOTDIR: a path component is a file; EISDIR: a directory where a file was meant. */
const WRONG_PATH = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

export function configPathError(field: string, path: string, what: string, hint: string, error: NodeJS.ErrnoException): ShipitError {
  if (error.code === 'EISDIR') return new ShipitError('CONFIG_INVALID', `${field}: ${path} is a directory (expected ${what})`, { hint, cause: error });
  if (error.code !== undefined && WRONG_PATH.has(error.code)) {
    return new ShipitError('CONFIG_INVALID', `${field}: ${path} does not exist (expected ${what})`, { hint, cause: error });
  }
  return new ShipitError('BUILD_FAILED', `${field}: cannot read ${what} at ${path}: ${error.code ?? error.message}`, { hint, cause: error });
}
