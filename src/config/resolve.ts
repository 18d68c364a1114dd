/**
 * From the config file to the ResolvedConfig of ONE environment: merge its overrides, apply defaults, resolve
 * local paths against the config file's directory, name the hosts. Pure: the home directory is an option.
 */
import { homedir } from 'node:os';
import { dirname, isAbsolute, posix, resolve } from 'node:path';
import { ShipitError } from '../lib/errors.js';
import { typoDistance, uniquelyNearest } from '../lib/nearest.js';
import { configInvalid } from './errors.js';
import { isPlainObject } from './merge.js';
import { SECRET_EXCLUDES, type EnvironmentConfig, type ShipitConfigInput } from './schema.js';
import type { ResolvedConfig } from './types.js';
import { checkEnvironment, collectSecrets } from './validate.js';

export interface ResolveOptions {
  /** Path of the config file: relative paths in the config resolve against its directory; errors name it. */
  configFile: string;
  /** For `~` in local paths (default: os.homedir()). */
  homeDir?: string;
  /**
   * false: a secret the config gives no value (its environment variable is not exported here) is left out
   * instead of being an error. For the commands that never send secrets to the hosts (status, logs, releases,
   * lock, units, rollback: a release runs with the secrets it was deployed with), so that an operator without
   * the deploy's secrets can use them. Default true.
   */
  requireSecrets?: boolean;
}

export function resolveEnvironment(raw: ShipitConfigInput, envName: string, options: ResolveOptions): ResolvedConfig {
  const configFile = resolve(options.configFile);
  const environments = isPlainObject(raw.environments) ? raw.environments : {};
  if (!Object.hasOwn(environments, envName)) {
    const known = Object.keys(environments);
    const guess = uniquelyNearest(envName, known, typoDistance, { ignoreCase: true });
    throw new ShipitError('USAGE', `unknown environment "${envName}"${guess === undefined ? '' : ` (did you mean "${guess}"?)`}: ${configFile} defines ${known.length === 0 ? 'no environment' : known.map((name) => `"${name}"`).join(', ')}`, {
      hint: known.length === 0 ? 'add one under environments: { production: { hosts: [...] } }' : `use one of: ${known.join(', ')}`,
    });
  }
  const { problems, config } = checkEnvironment(raw as Record<string, unknown>, envName, { requireSecrets: options.requireSecrets ?? true });
  if (problems.length > 0 || config === undefined) throw configInvalid(configFile, problems, collectSecrets(raw));
  return toResolved(config, envName, configFile, options.homeDir ?? homedir());
}

/**
 * `/srv//shop/` → `/srv/shop`. The hosts compare deployTo with what an installed unit's WorkingDirectory= says
 * (remote/scripts.ts UNITS_ELSEWHERE_LINES), and the lock, the journal and remove's checks name it: one spelling
 * for one directory, or a respelled deployTo looks like another environment's. hostPathSchema has refused `.` and
 * `..` segments, so this only joins slashes.
 */
export function normalizeHostPath(path: string): string {
  return posix.normalize(path).replace(/^\/+/, '/').replace(/(.)\/+$/, '$1');
}

function toResolved(config: EnvironmentConfig, environment: string, configFile: string, homeDir: string): ResolvedConfig {
  const configDir = dirname(configFile);
  const local = (path: string) => resolveLocalPath(path, configDir, homeDir);
  const { server, health } = config;
  return {
    environment,
    app: config.app,
    deployTo: normalizeHostPath(config.deployTo ?? `/srv/${config.app}`),
    configDir,
    configFile,
    build: { command: config.build.command, dir: local(config.build.dir), exclude: [...SECRET_EXCLUDES, ...config.build.exclude], gitignore: config.build.gitignore },
    server: {
      preset: server.preset,
      module: server.command ?? server.module ?? '',
      workerClass: server.workerClass,
      port: server.port,
      bind: server.bind,
      workers: server.workers,
      timeout: server.timeout,
      gracefulTimeout: server.gracefulTimeout,
      keepAlive: server.keepAlive,
      forwardedAllowIps: server.forwardedAllowIps,
      env: server.env,
      // checkEnvironment rejected undefined values (requireSecrets), or left them out.
      secrets: server.secrets as Record<string, string>,
      user: server.user ?? config.app,
      notify: server.notify,
      ...(server.python ? { python: { ...server.python, requirements: local(server.python.requirements), wheelhouse: server.python.wheelhouse && local(server.python.wheelhouse) } } : {}),
      ...(server.npm ? { npm: { lockfile: local(server.npm.lockfile), ...(server.npm.nodedir ? { nodedir: local(server.npm.nodedir) } : {}) } } : {}),
    },
    health: { ...health, readiness: health.readiness ?? health.liveness },
    rollout: config.rollout,
    keepReleases: config.keepReleases,
    ssh: {
      ...config.ssh,
      knownHostsFile: local(config.ssh.knownHostsFile),
      identityFiles: config.ssh.identityFiles.map(local),
      configFile: config.ssh.configFile === undefined || config.ssh.configFile === 'none' ? config.ssh.configFile : local(config.ssh.configFile),
    },
    hosts: config.hosts,
  };
}

/** `~` and `~/x` expand to the home directory; other relative paths resolve against the config's directory. */
export function resolveLocalPath(path: string, baseDir: string, homeDir: string): string {
  if (path === '~') return homeDir;
  if (path.startsWith('~/')) return resolve(homeDir, path.slice(2));
  return isAbsolute(path) ? resolve(path) : resolve(baseDir, path);
}
