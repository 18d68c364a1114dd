import { ExitCode, ShipitError, isShipitError } from '../../../src/lib/errors.js';

describe('ShipitError', () => {
  it('maps codes to documented exit codes', () => {
    expect(new ShipitError('LOCK_HELD', 'held').exitCode).toBe(ExitCode.lockHeld);
    expect(new ShipitError('HOST_KEY_CHANGED', 'changed').exitCode).toBe(ExitCode.connection);
    expect(new ShipitError('CONFIG_INVALID', 'bad').exitCode).toBe(ExitCode.config);
    expect(new ShipitError('DEPLOY_FAILED_RESTORED', 'x').exitCode).toBe(ExitCode.failedRestored);
    expect(new ShipitError('DEPLOY_FAILED_INCONSISTENT', 'x').exitCode).toBe(ExitCode.failedInconsistent);
  });

  it('keeps hint and host, and can be recognised', () => {
    const error = new ShipitError('LOCK_HELD', 'held', { hint: 'wait', host: 'web1' });
    expect(isShipitError(error)).toBe(true);
    expect(error.hint).toBe('wait');
    expect(error.host).toBe('web1');
    expect(isShipitError(new Error('x'))).toBe(false);
  });
});
