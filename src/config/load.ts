/**
 * Finding and loading the config file: cosmiconfig 9 for the search, jiti 2 for TypeScript and JavaScript
 * configs (no `typescript` at run time; a config may import other .ts files). `import { defineConfig } from
 * 'shipit'` resolves through a jiti alias to this package's own entry, so a config works in a project that has
 * not installed shipit (the repo's deploy.config.ts, examples/*).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Loader } from 'cosmiconfig';
import type { Jiti } from 'jiti';
import { missingDependency } from '../lib/error-message.js';
import { ShipitError } from '../lib/errors.js';
import { fromSource, packageRoot } from '../lib/package-root.js';
import { rememberSecrets } from '../lib/redact.js';
import { configInvalid, configLoadFailed } from './errors.js';
import type { ShipitConfigInput } from './schema.js';
import { sensitiveValues } from './sensitive.js';
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

/**
 * cosmiconfig and jiti are CommonJS. An ESM `import` of a CommonJS file first runs Node's cjs-module-lexer over
 * it to find its named exports: for jiti's 190 kB bundle that costs ~7 MB of peak memory, which `require` does
 * not (measured with VmHWM; issue #6).
 */
const require = createRequire(import.meta.url);

export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const { cosmiconfig } = require('cosmiconfig') as typeof import('cosmiconfig');
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
    if (error instanceof ConfigLoadError) throw configLoadFailed(error.filepath, error.message);
    if (missingDependency(error) !== null) throw error; // reported as an incomplete installation (cli/main.ts)
    throw configLoadFailed(explicit ?? resolve(options.cwd), describeLoadError(error));
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
  const config = validateConfig(result.config, { configFile: result.filepath });
  rememberSecrets(sensitiveValues(config.server));
  return { config, filepath: result.filepath };
}

/**
 * The entry users import as 'shipit': src/index.ts when running from source (tests, tsx), dist/src/index.js
 * otherwise (also for the bundled CLI: the entry only holds defineConfig, and a config needs nothing else).
 */
export function packageEntry(): string {
  return join(packageRoot(), fromSource() ? 'src/index.ts' : 'dist/src/index.js');
}

/**
 * One jiti instance for every code extension, so a .js or .mjs config gets the 'shipit' alias too. It is created
 * on the first code config: JSON, YAML and package.json configs never load jiti.
 */
function codeLoaders(): Record<string, Loader> {
  let jiti: Jiti | undefined;
  const load: Loader = async (filepath) => {
    // Outside the try: jiti missing from node_modules is shipit's installation, not the user's config.
    jiti ??= (require('jiti') as typeof import('jiti')).createJiti(import.meta.url, {
      alias: { [MODULE_NAME]: packageEntry() },
      // A fresh evaluation each load: a long-lived process (tests, a watch) must see an edited config.
      moduleCache: false,
      interopDefault: true,
    });
    try {
      return await jiti.import(filepath, { default: true });
    } catch (error) {
      throw new ConfigLoadError(filepath, describeLoadError(error));
    }
  };
  return { '.ts': load, '.mts': load, '.cts': load, '.js': load, '.mjs': load, '.cjs': load };
}

class ConfigLoadError extends Error {
  constructor(
    readonly filepath: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The first line of an error thrown while evaluating a config, and where in the user's files it happened.
 * Errors come from jiti's context (another realm), so no instanceof.
 */
function describeLoadError(error: unknown): string {
  if (typeof error !== 'object' || error === null || typeof (error as { message?: unknown }).message !== 'string') return String(error);
  const { message, stack } = error as { message: string; stack?: unknown };
  const [first = '', ...rest] = message.split('\n');
  // Parse errors carry the location on the message's second line; runtime errors in a stack frame.
  const inMessage = rest.map((line) => line.trim()).find((line) => /^(?:\/|file:)\S*:\d+:\d+$/.test(line));
  const frame =
    typeof stack === 'string'
      ? stack
          .split('\n')
          .map((line) => line.trim())
          .find((line) => line.startsWith('at ') && !/node_modules|node:internal|\/src\/config\/load\.|\/dist\/src\/config\/load\./.test(line))
      : undefined;
  const location = inMessage ?? frame?.match(/\(?((?:\/|file:)[^()]+:\d+:\d+)\)?$/)?.[1];
  return `${first.trim()}${location === undefined ? '' : ` (at ${location})`}`;
}
