import { deploy } from '../../rollout/deploy.js';
import { loadEnvironment, selectHosts } from '../fleet.js';
import type { DeployOptions } from '../options.js';
import { buildRelease } from '../release.js';
import { describeLeftOut } from '../render/left-out.js';
import { connectForOperation, finish, makeRenderer, runFleetOperation } from '../session.js';
import { sensitiveValues } from '../../config/sensitive.js';

export async function deployCommand(env: string, options: DeployOptions): Promise<void> {
  const config = await loadEnvironment(env, options);
  const hosts = selectHosts(config, options.host).map((h) => h.name);
  const renderer = await makeRenderer(options, hosts, sensitiveValues(config.server));
  try {
    // The SSH handshakes run while the release is built and hashed; nothing else touches a host before the
    // build has succeeded (no lock, no command), and a failed build closes the connections.
    const pending = connectForOperation(config, options, renderer);
    const { spec, files, bytes, leftOut, notes } = await buildRelease(config, options, renderer).catch(async (error: unknown) => {
      await pending.close();
      throw error;
    });
    const id = spec.meta.id;
    const left = describeLeftOut(leftOut);
    if (left) renderer.info(left);
    for (const note of notes) renderer.info(note);
    renderer.info(`deploying ${id} (${files} files, ${Math.round(bytes / 1024)} KiB) to ${hosts.join(', ')}`);
    const outcome = await runFleetOperation(config, options, id, (ctx) => deploy(ctx, spec), renderer, pending);
    finish(outcome, 'deploy', env, renderer);
  } finally {
    await renderer.close();
  }
}
