/**
 * The resolved configuration of ONE environment, after defaults, environment overrides and validation.
 * Everything downstream (units, plan, rollout, CLI) reads only this shape. Durations are milliseconds here;
 * Gunicorn-style server timeouts stay in seconds because that is the unit users write and Gunicorn takes.
 */
export type Preset = 'gunicorn' | 'node' | 'command';

/** 'auto' = the host's CPU count when the service starts; a number; or an expression of `cpu` like '2*cpu+1'. */
export type WorkersSetting = 'auto' | number | string;

export interface HostTarget {
  /** Display name used in output and `--host` filters: the config alias, else the host as written. */
  name: string;
  host: string;
  user: string;
  port: number;
  /**
   * Whether user and port were written in the config. Those not written are defaults (root, 22) that the SSH
   * config (`User`, `Port` for this host) may replace; written ones win over it, like ssh's command line.
   * Absent = both written.
   */
  written?: { user: boolean; port: boolean };
}

export interface ServerConfig {
  preset: Preset;
  /** gunicorn: the ASGI app (`pkg.module:app`); node: the entry file; command: the ExecStart line. */
  module: string;
  workerClass: string;
  port: number;
  /** Address the socket unit listens on. */
  bind: string;
  workers: WorkersSetting;
  /** Seconds. */
  timeout: number;
  /** Seconds. */
  gracefulTimeout: number;
  /** Seconds. */
  keepAlive: number;
  forwardedAllowIps: string[];
  env: Record<string, string>;
  /** Never printed; written 0600 on hosts. */
  secrets: Record<string, string>;
  /** The unprivileged system user the service runs as (default: the app name). */
  user: string;
  /** preset 'command': the command sends READY=1 via sd_notify (Type=notify; otherwise Type=exec). Default false. */
  notify?: boolean;
  /** Dependencies installed per dependency set on each host (src/config/deps-schema.ts); absent = none. */
  python?: PythonDepsConfig;
  npm?: NpmDepsConfig;
}

export interface PythonDepsConfig {
  /** Absolute local paths. */
  requirements: string;
  wheelhouse: string | undefined;
  systemSitePackages: boolean;
  interpreter: string;
}

export interface NpmDepsConfig {
  /** Absolute local path of package-lock.json; package.json is beside it. */
  lockfile: string;
  /** Absolute local path of the hosts' Node headers (include/node/), to compile native addons for them here. */
  nodedir?: string;
}

export interface HealthConfig {
  liveness: string;
  readiness: string;
  interval: number;
  timeout: number;
  successes: number;
  minHealthyTime: number;
  healthyDeadline: number;
}

export interface RolloutConfig {
  /** Hosts in the first batch, alone. 0 = no canary. */
  canary: number;
  /** Hosts per batch after the canary: a count, or a percentage of the fleet like '25%' (rounded down, at least 1). */
  maxParallel: number | `${number}%`;
  /** Pause between batches. */
  stagger: number;
  /** The whole rollout must make progress within this; reset whenever a host becomes healthy. */
  progressDeadline: number;
  autoRevert: boolean;
}

export interface SshConfig {
  knownHostsFile: string;
  /** OpenSSH client config to read (absolute), 'none', or undefined for ~/.ssh/config then /etc/ssh/ssh_config. */
  configFile?: string;
  /** Explicit identity files; empty = agent + ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
  identityFiles: string[];
  /** Name of the environment variable holding the passphrase of encrypted keys. */
  passphraseEnv: string | undefined;
  /** Use the agent at SSH_AUTH_SOCK when set. */
  agent: boolean;
  connectTimeout: number;
  keepaliveInterval: number;
  /** Per remote command, unless the step sets its own. */
  commandTimeout: number;
}

export interface BuildConfig {
  command: string | undefined;
  /** Absolute path of the directory that ships. */
  dir: string;
  /** gitignore-style patterns of build.dir's files that never ship (src/build/exclude.ts). */
  exclude: readonly string[];
  /** Leave out what git ignores in build.dir (src/build/git-ignored.ts). */
  gitignore: boolean;
}

export interface ResolvedConfig {
  environment: string;
  app: string;
  deployTo: string;
  /** Absolute directory of the config file; relative paths in the config are resolved against it. */
  configDir: string;
  configFile: string;
  build: BuildConfig;
  server: ServerConfig;
  health: HealthConfig;
  rollout: RolloutConfig;
  keepReleases: number;
  ssh: SshConfig;
  hosts: HostTarget[];
}
