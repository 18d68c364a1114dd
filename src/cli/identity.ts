import { hostname, userInfo } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Who deploys, as recorded in locks and the audit log: the CI actor when there is one. */
export function whoAmI(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GITHUB_ACTOR) return `${env.GITHUB_ACTOR}@github-actions`;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `${user}@${hostname()}`;
}

/** The git revision of the config's directory, or null outside a repository. `-dirty` when uncommitted changes. */
export async function gitRevision(cwd: string): Promise<string | null> {
  // node:child_process rather than execa: this runs on every deploy, and execa costs ~16 MB of memory to load.
  try {
    const head = await run('git', ['rev-parse', '--short=12', 'HEAD'], { cwd });
    const status = await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd });
    return `${head.stdout.trim()}${status.stdout.trim() ? '-dirty' : ''}`;
  } catch {
    return null; // not a repository, or no git
  }
}
