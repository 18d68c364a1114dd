import { deploy } from '../../rollout/deploy.js';
import { loadEnvironment, selectHosts } from '../fleet.js';
import type { DeployOptions } from '../options.js';
import { buildRelease } from '../release.js';
import { finish, makeRenderer, runFleetOperation } from '../session.js';

export async function deployCommand(env: string, options: DeployOptions): Promise<void> {
  const config = await loadEnvironment(env, options);
  const hosts = selectHosts(config, options.host).map((h) => h.name);
  const renderer = await makeRenderer(options, hosts, Object.values(config.server.secrets));
  try {
    const { spec, files, bytes } = await buildRelease(config, options, renderer);
    const id = spec.meta.id;
    renderer.info(`deploying ${id} (${files} files, ${Math.round(bytes / 1024)} KiB) to ${hosts.join(', ')}`);
    const outcome = await runFleetOperation(config, options, id, (ctx) => deploy(ctx, spec), renderer);
    finish(outcome, 'deploy', renderer);
  } finally {
    await renderer.close();
  }
}
