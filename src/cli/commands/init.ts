import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SEARCH_PLACES } from '../../config/load.js';
import type { Preset } from '../../config/types.js';
import { ShipitError } from '../../lib/errors.js';
import { PRESETS, appNameFrom, renderInitConfig } from '../../scaffold/init-config.js';
import { detectTypeScriptProject } from '../../scaffold/typescript-project.js';
import type { InitOptions } from '../options.js';

export const INIT_FILE = 'deploy.config.ts';

/** `shipit init [--preset gunicorn|node|command] [--app name]`: a commented deploy.config.ts; never overwrites. */
export async function initCommand(options: InitOptions, cwd = process.cwd()): Promise<void> {
  const preset = (options.preset ?? 'gunicorn') as Preset;
  if (!PRESETS.includes(preset)) {
    throw new ShipitError('USAGE', `--preset ${JSON.stringify(options.preset)}: not a preset`, { hint: `use one of: ${PRESETS.join(', ')}` });
  }
  const app = options.app ?? appNameFrom(basename(cwd));
  if (!/^[a-z][a-z0-9-]*$/.test(app) || app.length > 64) {
    throw new ShipitError('USAGE', `--app ${JSON.stringify(app)}: not a valid app name`, { hint: 'lowercase letters, digits and dashes, starting with a letter' });
  }
  // package.json only counts when it has a "shipit" key; any other config file would be found before or
  // instead of the new one.
  const existing = SEARCH_PLACES.filter((place) => place !== 'package.json' && existsSync(join(cwd, place)));
  if (existing.length > 0) {
    throw new ShipitError('USAGE', `${existing.join(', ')} already exists in ${cwd}: not overwriting it`, {
      hint: `edit it, or move it away and run \`shipit init\` again; \`shipit units <env>\` shows what it renders`,
    });
  }
  const path = join(cwd, INIT_FILE);
  const ts = preset === 'node' ? detectTypeScriptProject(cwd) : undefined;
  try {
    await writeFile(path, renderInitConfig(preset, app, ts), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ShipitError('USAGE', `${path} already exists: not overwriting it`);
    throw error;
  }
  process.stdout.write(
    `wrote ${path} (preset ${preset}, app ${app})\n` +
      (ts !== undefined
        ? `TypeScript project (tsconfig.json outDir ${ts.outDir}): build.command runs ${ts.command}, build.dir is ${ts.outDir}, server.module is ${ts.entry}${ts.esm ? ` (with ${ts.outDir}/package.json saying "type": "module")` : ''}\n`
        : '') +
      `next: set environments.production.hosts, then \`shipit units production\` and \`shipit plan production\`\n`,
  );
}
