import { relative, sep } from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import type { DepsSpec } from '../host/deps-types.js';
import { nodeDepsSpec } from './node-deps.js';
import { pythonDepsSpec } from './python-deps.js';

/** The release's dependency sets (server.python, server.npm), hashed here; built on or for each host in prepare. */
export async function dependencySpecs(config: ResolvedConfig): Promise<DepsSpec[]> {
  const { server } = config;
  const specs: DepsSpec[] = [];
  if (server.python) specs.push(await pythonDepsSpec(server.python, server));
  if (server.npm) specs.push(await nodeDepsSpec(server.npm));
  return specs;
}

/**
 * Paths of build.dir that do not ship in the release because a dependency set provides them: node_modules (the
 * set's is linked in its place) and a wheelhouse kept inside build.dir (it goes to the set, once).
 */
export function depsExcludes(config: ResolvedConfig): string[] {
  const { server } = config;
  const excludes: string[] = [];
  if (server.npm) excludes.push('node_modules');
  const wheelhouse = server.python?.wheelhouse;
  if (wheelhouse !== undefined) {
    const rel = relative(config.build.dir, wheelhouse);
    if (rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep)) excludes.push(rel.split(sep).join('/'));
  }
  return excludes;
}
