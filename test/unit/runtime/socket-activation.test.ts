import { takeListenFds, unsetListenEnv } from '../../../src/runtime/socket-activation.js';

describe('takeListenFds (sd_listen_fds(3))', () => {
  it('uses fd 3 when LISTEN_PID is this process', () => {
    expect(takeListenFds({ LISTEN_FDS: '1', LISTEN_PID: '4242' }, 4242)).toEqual({ fd: 3, ignored: undefined, extra: 0 });
  });

  it('reports sockets beyond the first', () => {
    expect(takeListenFds({ LISTEN_FDS: '3', LISTEN_PID: '7' }, 7)).toEqual({ fd: 3, ignored: undefined, extra: 2 });
  });

  it('is not activated without LISTEN_FDS', () => {
    expect(takeListenFds({}, 7)).toEqual({ fd: undefined, ignored: undefined, extra: 0 });
  });

  it('refuses sockets meant for another process (a wrapper that did not exec)', () => {
    const result = takeListenFds({ LISTEN_FDS: '1', LISTEN_PID: '100' }, 101);
    expect(result.fd).toBeUndefined();
    expect(result.ignored).toBe('LISTEN_PID=100 is not this process (101): a wrapper must `exec` the runtime');
  });

  it.each([
    [{ LISTEN_FDS: '1' }, 'without a valid LISTEN_PID'],
    [{ LISTEN_FDS: '0', LISTEN_PID: '5' }, 'is not a positive count'],
    [{ LISTEN_FDS: 'x', LISTEN_PID: '5' }, 'is not a positive count'],
  ])('ignores malformed variables %j', (env, message) => {
    const result = takeListenFds(env, 5);
    expect(result.fd).toBeUndefined();
    expect(result.ignored).toContain(message);
  });

  it('unsets the variables so no child inherits them', () => {
    const env: Record<string, string | undefined> = { LISTEN_FDS: '1', LISTEN_PID: '1', LISTEN_FDNAMES: 'web', PATH: '/bin' };
    unsetListenEnv(env);
    expect(env).toEqual({ PATH: '/bin' });
  });
});
