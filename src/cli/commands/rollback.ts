import { rollback } from '../../rollout/rollback.js';
import { loadEnvironment, selectHosts } from '../fleet.js';
import type { RollbackOptions } from '../options.js';
import { finish, makeRenderer, runFleetOperation } from '../session.js';

export async function rollbackCommand(env: string, options: RollbackOptions): Promise<void> {
  const config = await loadEnvironment(env, options);
  const renderer = await makeRenderer(options, selectHosts(config, options.host).map((h) => h.name), Object.values(config.server.secrets));
  try {
    const outcome = await runFleetOperation(config, options, options.to ?? null, (ctx) => rollback(ctx, options.to), renderer);
    finish(outcome, 'rollback', renderer);
  } finally {
    await renderer.close();
  }
}
