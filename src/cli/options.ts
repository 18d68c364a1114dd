/** Options every fleet command shares, as commander hands them over. */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  verbose?: boolean;
  host?: string[];
  acceptNewHostKeys?: boolean;
}

export interface DeployOptions extends GlobalOptions {
  lockWait?: string;
  message?: string;
  skipBuild?: boolean;
}

export interface RollbackOptions extends GlobalOptions {
  to?: string;
  lockWait?: string;
  message?: string;
}
