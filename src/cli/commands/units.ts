import { SYSTEMD_DIR } from '../../remote/scripts.js';
import { renderUnits } from '../../units/render.js';
import { loadEnvironment } from '../fleet.js';
import type { GlobalOptions } from '../options.js';

/** `shipit units <env>`: the unit files a deploy would install, as rendered from this config. Touches no host. */
export async function unitsCommand(env: string, options: GlobalOptions): Promise<void> {
  const config = await loadEnvironment(env, options, { secrets: 'optional' });
  const units = renderUnits(config).map((u) => ({ name: u.name, path: `${SYSTEMD_DIR}/${u.name}`, content: u.content }));
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ environment: env, app: config.app, units })}\n`);
    return;
  }
  process.stdout.write(units.map((u) => `# ${u.path}\n${u.content}`).join('\n'));
}
