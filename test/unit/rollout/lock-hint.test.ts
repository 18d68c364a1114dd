import { lockHeldHint } from '../../../src/rollout/lock.js';

const holder = { by: 'bob@ci', pid: 4669, at: '2026-12-04T05:00:00Z', release: '20261204T050000Z', message: '', token: 't' };

describe('the hint for a lock someone else holds', () => {
  it('a deploy: wait for it, or wait longer with --lock-wait', () => {
    expect(lockHeldHint(holder, 0, 'production')).toBe('wait for that deploy to finish, pass `--lock-wait 5m`, or see `shipit lock status production`');
    expect(lockHeldHint(holder, 3_000, 'production')).toBe('wait for that deploy to finish, pass a longer `--lock-wait`, or see `shipit lock status production`');
  });

  it('a run that deploys no release (a rollback): not called a deploy', () => {
    expect(lockHeldHint({ ...holder, release: null }, 0, 'production')).toMatch(/^wait for that run to finish/);
  });

  it('taken by hand: no run will end it, so it names who to ask and how to release it', () => {
    const hint = lockHeldHint({ ...holder, pid: 0, message: 'db migration' }, 0, 'staging');
    expect(hint).toContain('taken by hand (`shipit lock acquire`): ask bob@ci to release it with `shipit lock release staging`');
    expect(hint).toContain('`shipit lock release staging --force`; see `shipit lock status staging`');
    expect(hint).not.toMatch(/deploy to finish|--lock-wait/);
  });
});
