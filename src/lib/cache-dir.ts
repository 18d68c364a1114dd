import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where shipit keeps what it can recompute (file hashes, manifests of releases it staged): SHIPIT_CACHE_DIR,
 * else $XDG_CACHE_HOME/shipit, else ~/.cache/shipit. Losing it costs time, never correctness: every entry is
 * checked before it is trusted.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['SHIPIT_CACHE_DIR']) return env['SHIPIT_CACHE_DIR'];
  if (env['XDG_CACHE_HOME']) return join(env['XDG_CACHE_HOME'], 'shipit');
  return join(homedir(), '.cache', 'shipit');
}
