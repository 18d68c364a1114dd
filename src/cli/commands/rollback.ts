import { ShipitError } from '../../lib/errors.js';
import { rollback } from '../../rollout/rollback.js';
import { loadEnvironment, selectHosts, unredactedNote } from '../fleet.js';
import type { RollbackOptions } from '../options.js';
import { finish, makeRenderer, runFleetOperation } from '../session.js';
import { sensitiveValues } from '../../config/sensitive.js';

export async function rollbackCommand(env: string, options: RollbackOptions): Promise<void> {
  if (options.to !== undefined) checkTarget(options.to, env);
  // A release runs with the secrets it was deployed with: rolling back sends none, so it needs none here.
  const config = await loadEnvironment(env, options, { secrets: 'optional' });
  const note = unredactedNote(config.unsetSecrets);
  if (note) process.stderr.write(note);
  const renderer = await makeRenderer(options, selectHosts(config, options.host).map((h) => h.name), sensitiveValues(config.server));
  try {
    const outcome = await runFleetOperation(config, options, options.to ?? null, (ctx) => rollback(ctx, options.to), renderer);
    finish(outcome, 'rollback', env, renderer);
  } finally {
    await renderer.close();
  }
}

/** A release id as shipit names releases (a directory name on the hosts), or a usage error before any host is asked. */
export function checkTarget(to: string, env: string): void {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(to)) return;
  throw new ShipitError('USAGE', `--to ${JSON.stringify(to)}: not a release id`, {
    hint: `release ids look like 20261204T050000Z; \`shipit releases ${env}\` lists the ones on the hosts`,
  });
}
