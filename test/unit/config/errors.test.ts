import { configInvalid, formatPath, showValue } from '../../../src/config/errors.js';
import { listConfigKeys } from '../../../src/config/schema.js';

describe('config error formatting', () => {
  it('writes paths with dots and [i], quoting keys that are not identifiers', () => {
    expect(formatPath(['environments', 'production', 'hosts', 1])).toBe('environments.production.hosts[1]');
    expect(formatPath(['server', 'env', 'LOG-LEVEL'])).toBe('server.env["LOG-LEVEL"]');
    expect(formatPath([])).toBe('');
  });

  it('shows values compactly', () => {
    expect(showValue('web 2')).toBe('"web 2"');
    expect(showValue(42)).toBe('42');
    expect(showValue({ host: 'x' })).toBe('{"host":"x"}');
    expect(showValue('x'.repeat(100))).toBe(`"${'x'.repeat(76)}...`);
  });

  it('lists every problem, names the file, and redacts secret values as a last guard', () => {
    const error = configInvalid('/app/deploy.config.ts', [{ path: 'a', message: 'mentions s3cret' }, { path: '', message: 'whole file' }], ['s3cret']);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('/app/deploy.config.ts: invalid configuration (2 problems):\n  - a: mentions [redacted]\n  - whole file');
  });
});

describe('listConfigKeys', () => {
  it('describes every key, with its default, for shipit init and the docs', () => {
    const keys = listConfigKeys();
    const byPath = new Map(keys.map((key) => [key.path, key]));
    for (const key of keys) expect(key.description).not.toBe('');
    expect(byPath.get('app')).toMatchObject({ required: true });
    expect(byPath.get('server.workers')).toMatchObject({ default: 'auto', required: false });
    expect(byPath.get('server.timeout')).toMatchObject({ default: 30 });
    expect(byPath.get('health.interval')).toMatchObject({ default: '1s' });
    expect(byPath.get('rollout.maxParallel')).toMatchObject({ default: '25%' });
    expect(byPath.get('server.preset')).toMatchObject({ required: true });
    expect(byPath.has('environments.<name>.hosts')).toBe(true);
    expect(keys.map((key) => key.path)).toEqual(expect.arrayContaining(['deployTo', 'build.dir', 'server.secrets', 'ssh.commandTimeout', 'keepReleases']));
  });
});
