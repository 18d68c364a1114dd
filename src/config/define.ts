import type { ShipitConfigInput } from './schema.js';

/**
 * Types a `deploy.config.ts` (completion and typo checks in the editor); returns the config unchanged.
 * Validation happens when shipit loads the file, with messages that name the key and the file.
 */
export function defineConfig(config: ShipitConfigInput): ShipitConfigInput {
  return config;
}
