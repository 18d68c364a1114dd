/**
 * Finding and loading the config file: cosmiconfig 9 for the search, jiti 2 for TypeScript and JavaScript
 * configs (no `typescript` at run time; a config may import other .ts files). `import { defineConfig } from
 * 'shipit'` resolves through a jiti alias to this package's own entry, so a config works in a project that has
 * not installed shipit (the repo's deploy.config.ts, examples/*).
 */
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { createJiti } from 'jiti';
import { ShipitError } from '../lib/errors.js';
import { configInvalid } from './errors.js';
import type { ShipitConfigInput } from './schema.js';
import { validateConfig } from './validate.js';

export const MODULE_NAME = 'shipit';

/** Where a config is looked for, in this order, in the working directory. */
export const SEARCH_PLACES: readonly string[] = [
  'deploy.config.ts',
  'deploy.config.mts',
  'deploy.config.js',
  'deploy.config.mjs',
  'deploy.config.cjs',
  'shipit.config.ts',
  'shipit.config.js',
  'shipit.config.mjs',
  '.shipitrc',
  '.shipitrc.json',
  '.shipitrc.yaml',
  '.shipitrc.yml',
  '.shipitrc.js',
  '.shipitrc.mjs',
  '.shipitrc.ts',
  'package.json',
];

export interface LoadConfigOptions {
  cwd: string;
  /** An explicit file (--config): no search. Relative to cwd. */
  configPath?: string | undefined;
}

export interface LoadedConfig {
  /** Validated as written; resolveEnvironment applies defaults and overrides. */
  config: ShipitConfigInput;
  /** Absolute path of the file it came from. */
  filepath: string;
}

export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces: [...SEARCH_PLACES],
    searchStrategy: 'none',
    cache: false,
    loaders: codeLoaders(),
  });
  let result: Awaited<ReturnType<typeof explorer.search>>;
  const explicit = options.configPath === undefined ? undefined : resolve(options.cwd, options.configPath);
  if (explicit !== undefined && !existsSync(explicit)) {
    throw new ShipitError('CONFIG_NOT_FOUND', `config file ${explicit} does not exist`, {
      hint: 'check the --config path, or run `shipit init` to write a deploy.config.ts',
    });
  }
  try {
    result = explicit === undefined ? await explorer.search(options.cwd) : await explorer.load(explicit);
  } catch (error) {
    if (error instanceof ShipitError) throw error;
    const file = (error as { filepath?: string }).filepath ?? explicit ?? options.cwd;
    throw configInvalid(file, [{ path: '', message: `cannot be loaded: ${describeLoadError(error)}` }]);
  }
  if (result === null) {
    const dir = resolve(options.cwd);
    throw new ShipitError('CONFIG_NOT_FOUND', `no shipit config in ${dir}: looked for ${SEARCH_PLACES.map((place) => (place === 'package.json' ? 'package.json#shipit' : place)).join(', ')}`, {
      hint: 'run `shipit init` to write a deploy.config.ts, or pass --config <file>',
    });
  }
  if (result.isEmpty || result.config === undefined || result.config === null) {
    throw configInvalid(result.filepath, [{ path: '', message: 'is empty: export default defineConfig({ app, server, environments })' }]);
  }
  return { config: validateConfig(result.config, { configFile: result.filepath }), filepath: result.filepath };
}

/**
 * The entry users import as 'shipit': src/index.ts when running from source (tests, tsx), dist/src/index.js
 * when built. This file sits at src/config/load.ts or dist/src/config/load.js, so the entry is ../index
 * with this file's own extension.
 */
export function packageEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return resolve(here, '..', '..', `index${extname(here)}`);
}

/** One jiti instance for every code extension, so a .js or .mjs config gets the 'shipit' alias too. */
function codeLoaders(): Record<string, Loader> {
  const jiti = createJiti(import.meta.url, {
    alias: { [MODULE_NAME]: packageEntry() },
    // A fresh evaluation each load: a long-lived process (tests, a watch) must see an edited config.
    moduleCache: false,
    interopDefault: true,
  });
  const load: Loader = async (filepath) => {
    try {
      return await jiti.import(filepath, { default: true });
    } catch (error) {
      throw Object.assign(new Error(describeLoadError(error)), { filepath });
    }
  };
  return { '.ts': load, '.mts': load, '.cts': load, '.js': load, '.mjs': load, '.cjs': load };
}

/** The first lines of a load error: the message and where it happened, without jiti's internal stack. */
function describeLoadError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const firstFrame = error.stack
    ?.split('\n')
    .slice(1)
    .find((line) => !line.includes('node_modules') && !line.includes('node:internal'));
  const where = firstFrame === undefined ? '' : ` (${firstFrame.trim().replace(/^at /, 'at ')})`;
  return `${error.message.split('\n')[0]}${where}`;
}
