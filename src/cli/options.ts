/** Options every fleet command shares, as commander hands them over. */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  verbose?: boolean;
  host?: string[];
  acceptNewHostKeys?: boolean;
  /** OpenSSH client config to read instead of ~/.ssh/config and /etc/ssh/ssh_config; 'none' reads none. */
  sshConfig?: string;
}

export interface DeployOptions extends GlobalOptions {
  dryRun?: boolean;
  lockWait?: string;
  message?: string;
  skipBuild?: boolean;
}

export interface RollbackOptions extends GlobalOptions {
  to?: string;
  lockWait?: string;
  message?: string;
}

export interface RemoveOptions extends GlobalOptions {
  yes?: boolean;
  lockWait?: string;
  message?: string;
}

export interface LogsOptions extends GlobalOptions {
  follow?: boolean;
  since?: string;
  lines?: string;
}

export interface LockOptions extends GlobalOptions {
  message?: string;
  wait?: string;
  force?: boolean;
}

export interface PlanOptions extends GlobalOptions {
  skipBuild?: boolean;
  message?: string;
}

export interface InitOptions {
  preset?: string;
  app?: string;
}
