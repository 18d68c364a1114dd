import { balancing, parseRuntimeConfig, parseWorkers, resolveScheduling, RuntimeConfigError } from '../../../src/runtime/config.js';
import { RuntimeExit } from '../../../src/runtime/exit-codes.js';

describe('parseRuntimeConfig', () => {
  it('applies the documented defaults', () => {
    expect(parseRuntimeConfig({ SHIPIT_APP: 'server.js' }, 4)).toEqual({
      backlog: 511,
      app: 'server.js',
      appDir: undefined,
      workers: 4,
      workersFrom: 'auto',
      port: 8000,
      host: undefined,
      timeoutMs: 30_000,
      gracefulTimeoutMs: 30_000,
      bootTimeoutMs: 60_000,
      keepAliveMs: 5000,
      keepAliveRequests: 0,
      accessLog: false,
      logLevel: 'info',
      sdNotifyPath: undefined,
      scheduling: 'auto',
      balance: 'auto',
    });
  });

  it('reads every variable of the contract', () => {
    const config = parseRuntimeConfig(
      {
        SHIPIT_APP: 'dist/app.mjs',
        SHIPIT_APP_DIR: '/srv/app/current',
        WORKERS: '3',
        PORT: '0',
        HOST: '127.0.0.1',
        SHIPIT_TIMEOUT: '0.5',
        SHIPIT_GRACEFUL_TIMEOUT: '10',
        SHIPIT_BOOT_TIMEOUT: '0',
        SHIPIT_KEEP_ALIVE: '0',
        SHIPIT_KEEPALIVE_REQUESTS: '250',
        SHIPIT_ACCESS_LOG: '1',
        SHIPIT_LOG_LEVEL: 'debug',
        SHIPIT_SD_NOTIFY: '/opt/sd-notify',
        SHIPIT_SCHEDULING: 'shared',
        SHIPIT_BALANCE: '0',
        SHIPIT_BACKLOG: '4096',
      },
      2,
    );
    expect(config).toMatchObject({
      app: 'dist/app.mjs',
      appDir: '/srv/app/current',
      workers: 3,
      workersFrom: 'WORKERS',
      port: 0,
      host: '127.0.0.1',
      timeoutMs: 500,
      gracefulTimeoutMs: 10_000,
      bootTimeoutMs: 0,
      keepAliveMs: 0,
      keepAliveRequests: 250,
      backlog: 4096,
      accessLog: true,
      logLevel: 'debug',
      sdNotifyPath: '/opt/sd-notify',
      scheduling: 'shared',
      balance: 'off',
    });
  });

  it('balances only under shared scheduling, with another worker, unless SHIPIT_BALANCE=0', () => {
    const on = (env: Record<string, string>, cpus = 2) => balancing(parseRuntimeConfig({ SHIPIT_APP: 'a.js', ...env }, cpus));
    expect(on({})).toBe('auto');
    expect(on({ SHIPIT_SCHEDULING: 'shared', SHIPIT_BALANCE: '1' })).toBe('auto');
    expect(on({ SHIPIT_BALANCE: ' Auto ' })).toBe('auto');
    expect(on({ SHIPIT_BALANCE: 'always' })).toBe('always');
    expect(on({ SHIPIT_BALANCE: '0' })).toBeUndefined();
    expect(on({ SHIPIT_BALANCE: 'off' })).toBeUndefined();
    expect(on({ SHIPIT_SCHEDULING: 'round-robin', SHIPIT_BALANCE: 'always' })).toBeUndefined();
    expect(on({ WORKERS: '1' })).toBeUndefined();
    expect(on({}, 1)).toBeUndefined();
  });

  it('takes SHIPIT_KEEPALIVE_REQUESTS=0 as "never recycle"', () => {
    expect(parseRuntimeConfig({ SHIPIT_APP: 'a.js', SHIPIT_KEEPALIVE_REQUESTS: '0' }, 2).keepAliveRequests).toBe(0);
    expect(parseRuntimeConfig({ SHIPIT_APP: 'a.js', SHIPIT_KEEPALIVE_REQUESTS: ' 1 ' }, 2).keepAliveRequests).toBe(1);
  });

  it('requires SHIPIT_APP', () => {
    expect(() => parseRuntimeConfig({}, 2)).toThrow('SHIPIT_APP: is not set');
  });

  it.each([
    ['PORT', '70000', 'is not a TCP port'],
    ['SHIPIT_TIMEOUT', '-1', 'is not a number of seconds'],
    ['SHIPIT_GRACEFUL_TIMEOUT', '30s', 'is not a number of seconds'],
    ['SHIPIT_ACCESS_LOG', 'maybe', 'is not a flag'],
    ['SHIPIT_BALANCE', 'sometimes', 'is not one of auto, always, off (or 1, 0)'],
    ['SHIPIT_LOG_LEVEL', 'loud', 'is not one of'],
    ['SHIPIT_SCHEDULING', 'random', 'is not one of auto, round-robin, shared'],
    ['SHIPIT_KEEPALIVE_REQUESTS', 'many', 'is not a whole number of requests'],
    ['SHIPIT_BACKLOG', '0', 'is not a positive whole number of connections'],
    ['SHIPIT_BACKLOG', 'lots', 'is not a positive whole number of connections'],
    ['SHIPIT_KEEPALIVE_REQUESTS', '-1', 'is not a whole number of requests'],
    ['SHIPIT_KEEPALIVE_REQUESTS', '1e3', 'is not a whole number of requests'],
  ])('rejects %s=%s, naming the variable', (key, value, message) => {
    let error: unknown;
    try {
      parseRuntimeConfig({ SHIPIT_APP: 'a.js', [key]: value }, 2);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RuntimeConfigError);
    expect((error as RuntimeConfigError).message).toContain(`${key}: "${value}" ${message}`);
    expect((error as RuntimeConfigError).exitCode).toBe(RuntimeExit.config);
  });
});

describe('parseWorkers', () => {
  it('uses the CPU count for unset, empty and auto', () => {
    expect(parseWorkers(undefined, 8)).toEqual({ count: 8, from: 'auto' });
    expect(parseWorkers('', 8)).toEqual({ count: 8, from: 'auto' });
    expect(parseWorkers('auto', 8)).toEqual({ count: 8, from: 'auto' });
    expect(parseWorkers('auto', 0)).toEqual({ count: 1, from: 'auto' });
  });

  it('takes a positive whole number', () => {
    expect(parseWorkers('1', 8)).toEqual({ count: 1, from: 'WORKERS' });
    expect(parseWorkers(' 12 ', 8)).toEqual({ count: 12, from: 'WORKERS' });
  });

  it.each(['0', '-2', '1.5', 'four', '2x', '99999'])('rejects WORKERS=%s with exit code 2', (value) => {
    expect(() => parseWorkers(value, 8)).toThrow(/^WORKERS: ".*" is not valid: use "auto" \(one per CPU\) or a whole number from 1 to 1024$/);
  });
});

describe('resolveScheduling', () => {
  it('shares the socket unless told to deal round-robin', () => {
    expect(resolveScheduling('auto')).toBe('shared');
    expect(resolveScheduling('shared')).toBe('shared');
    expect(resolveScheduling('round-robin')).toBe('round-robin');
  });
});
