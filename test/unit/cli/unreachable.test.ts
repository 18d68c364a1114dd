import { report } from '../../../src/cli/main.js';
import { combineFailures, isUnreachable, partitionOutcomes, unreachableError } from '../../../src/cli/unreachable.js';
import { ShipitError } from '../../../src/lib/errors.js';

const down = new ShipitError('CONNECT_FAILED', 'Cannot connect to deploy@ghost (10.213.37.250:22): no SSH handshake within 3000 ms', {
  host: 'ghost',
  hint: 'Check that the host is up',
});
const changedKey = new ShipitError('HOST_KEY_CHANGED', 'WARNING: the host key of web2 has changed', { host: 'web2', hint: 'verify the new key' });

describe('read-only commands and unreachable hosts', () => {
  it('only a connection failure makes a host unreachable; host keys, authentication, Ctrl-C fail the command', () => {
    expect(isUnreachable(down)).toBe(true);
    expect(isUnreachable(changedKey)).toBe(false);
    expect(isUnreachable(new ShipitError('HOST_KEY_UNKNOWN', 'unknown key'))).toBe(false);
    expect(isUnreachable(new ShipitError('AUTH_FAILED', 'Permission denied'))).toBe(false);
    expect(isUnreachable(new ShipitError('ABORTED', 'Aborted connecting'))).toBe(false);
    expect(isUnreachable(new Error('boom'))).toBe(false);
  });

  it('splits per-host outcomes into what was read, unreachable hosts (with why) and fatal errors, in order', () => {
    const split = partitionOutcomes(
      ['web1', 'ghost', 'web2'],
      [
        { status: 'fulfilled', value: 1 },
        { status: 'rejected', reason: down },
        { status: 'rejected', reason: changedKey },
      ],
    );
    expect([...split.ok]).toEqual([['web1', 1]]);
    expect(split.unreachable).toEqual([{ host: 'ghost', reason: down.message, error: down }]);
    expect(split.fatal).toEqual([changedKey]);
  });

  it('several failures are one error with the first one\'s code and hint (a host key error stays exit 3 with its hint)', () => {
    expect(combineFailures([changedKey])).toBe(changedKey);
    const both = combineFailures([changedKey, down]) as ShipitError;
    expect([both.code, both.exitCode, both.hint, both.message]).toEqual(['HOST_KEY_CHANGED', 3, 'verify the new key', `${changedKey.message}\n${down.message}`]);
  });

  it('ends the command with exit 3 naming the unreachable hosts, after the others were printed', () => {
    let text = '';
    const code = report(unreachableError([{ host: 'ghost', reason: down.message, error: down }], 4), (t) => (text += t));
    expect(code).toBe(3);
    expect(text).toBe('error: could not reach ghost (the other 3 host(s) are shown)\nhint: Check that the host is up\n');
    expect(unreachableError([{ host: 'ghost', reason: down.message, error: down }], 1).message).toBe('could not reach ghost');
  });
});
