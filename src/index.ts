/**
 * The package entry, what `import { defineConfig } from 'shipit'` in a deploy.config.ts reaches. Kept small on
 * purpose: config files are loaded through jiti with 'shipit' aliased to this file, so everything imported here
 * is loaded on every command. Only type imports besides defineConfig.
 */
export { defineConfig } from './config/define.js';
export type { ConfigOverrides, DeepPartial, EnvironmentInput, HostInput, ShipitConfigInput } from './config/schema.js';
export type {
  BuildConfig,
  HealthConfig,
  HostTarget,
  Preset,
  ResolvedConfig,
  RolloutConfig,
  ServerConfig,
  SshConfig,
  WorkersSetting,
} from './config/types.js';
