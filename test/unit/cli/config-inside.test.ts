import type { ResolvedConfig } from '../../../src/config/types.js';
import { configInside } from '../../../src/cli/release.js';

const config = (configFile: string, dir: string) => ({ configDir: '/p', configFile, build: { dir } }) as unknown as ResolvedConfig;

describe('the config file never ships', () => {
  it('is excluded from the artifact when it lies inside the build dir', () => {
    expect(configInside(config('/p/deploy.config.ts', '/p'))).toEqual(['deploy.config.ts']);
    expect(configInside(config('/p/deploy.config.ts', '.'))).toEqual(['deploy.config.ts']);
    expect(configInside(config('/p/conf/shipit.config.mjs', '/p'))).toEqual(['conf/shipit.config.mjs']);
  });

  it('is nothing to exclude when it lies outside', () => {
    expect(configInside(config('/p/deploy.config.ts', '/p/dist'))).toEqual([]);
    expect(configInside(config('/elsewhere/deploy.config.ts', 'dist'))).toEqual([]);
  });
});
