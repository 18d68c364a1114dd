import { selectHosts } from '../../../src/cli/fleet.js';
import type { ResolvedConfig } from '../../../src/config/types.js';
import type { ShipitError } from '../../../src/lib/errors.js';

const config = (environment: string, names: string[]) =>
  ({ environment, hosts: names.map((name) => ({ name, host: `${name}.example.com`, user: 'deploy', port: 22 })) }) as unknown as ResolvedConfig;

const refusal = (fn: () => unknown): ShipitError => {
  try {
    fn();
  } catch (error) {
    return error as ShipitError;
  }
  throw new Error('not refused');
};

describe('--host names not in the environment', () => {
  it('say which and list the hosts; a typo nearer one host than the others names it', () => {
    const error = refusal(() => selectHosts(config('production', ['web1', 'web2', 'web3']), ['wbe1']));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('--host wbe1: not a host of environment production (did you mean web1?)');
    expect(error.hint).toBe('its hosts are: web1, web2, web3');
    expect(refusal(() => selectHosts(config('production', ['db-primary', 'web1']), ['db-primray'])).message).toContain('(did you mean db-primary?)');
  });

  it('no guess among numbered hosts as near to each other (web9), nor for a host of another environment (web2 in staging)', () => {
    expect(refusal(() => selectHosts(config('production', ['web1', 'web2', 'web3']), ['web9'])).message).toBe('--host web9: not a host of environment production');
    expect(refusal(() => selectHosts(config('staging', ['web3', 'web1']), ['web2'])).message).toBe('--host web2: not a host of environment staging');
    expect(refusal(() => selectHosts(config('production', ['web1', 'web2']), ['wbe1', 'web9'])).message).toBe('--host wbe1, web9: not a host of environment production');
  });

  it('selects the named hosts in the config order', () => {
    expect(selectHosts(config('staging', ['web3', 'web1']), ['web1', 'web3']).map((h) => h.name)).toEqual(['web3', 'web1']);
  });
});
