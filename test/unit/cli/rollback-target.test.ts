import { checkTarget } from '../../../src/cli/commands/rollback.js';
import { ShipitError } from '../../../src/lib/errors.js';

describe('rollback --to', () => {
  it('takes a release id as shipit names them', () => {
    expect(() => checkTarget('20261204T050000Z', 'production')).not.toThrow();
    expect(() => checkTarget('20261204T050000Z-2', 'production')).not.toThrow();
  });

  it.each(['x;rm', '../etc', '', '-r', 'a b'])('refuses %j as a usage error naming the option, before any host is asked', (to) => {
    const error = (() => {
      try {
        checkTarget(to, 'production');
      } catch (e) {
        return e as ShipitError;
      }
      throw new Error('accepted');
    })();
    expect([error.code, error.message]).toEqual(['USAGE', `--to ${JSON.stringify(to)}: not a release id`]);
    expect(error.hint).toContain('`shipit releases production`');
  });
});
