import { hostname, userInfo } from 'node:os';
import { execa } from 'execa';

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
  const head = await execa('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, reject: false });
  if (head.exitCode !== 0) return null;
  const status = await execa('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, reject: false });
  return `${head.stdout.trim()}${status.stdout.trim() ? '-dirty' : ''}`;
}
