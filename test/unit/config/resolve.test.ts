import { resolveEnvironment, resolveLocalPath } from '../../../src/config/resolve.js';
import type { ShipitConfigInput } from '../../../src/config/schema.js';
import { mergeOverrides } from '../../../src/config/merge.js';
import { defineConfig } from '../../../src/index.js';

const FILE = '/work/app/deploy.config.ts';

const config = defineConfig({
  app: 'hello',
  build: { command: 'npm run build', dir: 'dist' },
  server: {
    preset: 'gunicorn',
    module: 'app.main:app',
    env: { LOG_LEVEL: 'info', THREADS: 4, DEBUG: false },
    secrets: { DATABASE_URL: 'postgres://top' },
    forwardedAllowIps: ['127.0.0.1', '10.0.0.1'],
  },
  health: { readiness: '/readyz' },
  ssh: { identityFiles: ['~/.ssh/deploy', 'keys/ci', '/etc/shipit/key'] },
  environments: {
    production: {
      hosts: ['deploy@web1.example.com', { host: '10.0.0.5', user: 'deploy', port: 22, name: 'web5' }, '[2001:db8::7]:2222', 'web6:2200'],
      server: { workers: '2*cpu+1', env: { LOG_LEVEL: 'warning' }, forwardedAllowIps: ['10.0.0.9'] },
      rollout: { maxParallel: 2 },
    },
    staging: {
      hosts: ['staging1'],
      app: 'hello-staging',
      deployTo: '/opt/hello-staging/',
      health: { healthyDeadline: '2m' },
      server: { secrets: { DATABASE_URL: 'postgres://staging', EXTRA: 'extra-secret' } },
    },
  },
});

describe('resolveEnvironment', () => {
  it('applies defaults, durations in ms, server timeouts in seconds', () => {
    const resolved = resolveEnvironment(config, 'production', { configFile: FILE, homeDir: '/home/me' });
    expect(resolved).toEqual({
      environment: 'production',
      app: 'hello',
      deployTo: '/srv/hello',
      configDir: '/work/app',
      configFile: FILE,
      build: { command: 'npm run build', dir: '/work/app/dist', exclude: ['.env', '.env.*'], gitignore: true },
      server: {
        preset: 'gunicorn',
        module: 'app.main:app',
        workerClass: 'uvicorn.workers.UvicornWorker',
        port: 8000,
        bind: '0.0.0.0',
        workers: '2*cpu+1',
        timeout: 30,
        gracefulTimeout: 20,
        keepAlive: 5,
        // arrays replace
        forwardedAllowIps: ['10.0.0.9'],
        // objects merge; values become strings
        env: { LOG_LEVEL: 'warning', THREADS: '4', DEBUG: 'false' },
        secrets: { DATABASE_URL: 'postgres://top' },
        user: 'hello',
        notify: false,
      },
      health: { liveness: '/healthz', readiness: '/readyz', interval: 1_000, timeout: 2_000, successes: 2, minHealthyTime: 5_000, healthyDeadline: 60_000 },
      rollout: { canary: 1, maxParallel: 2, stagger: 0, progressDeadline: 600_000, autoRevert: true },
      keepReleases: 5,
      ssh: {
        knownHostsFile: '/home/me/.ssh/known_hosts',
        identityFiles: ['/home/me/.ssh/deploy', '/work/app/keys/ci', '/etc/shipit/key'],
        passphraseEnv: 'SHIPIT_SSH_PASSPHRASE',
        agent: true,
        connectTimeout: 10_000,
        keepaliveInterval: 5_000,
        commandTimeout: 120_000,
      },
      hosts: [
        { name: 'web1.example.com', host: 'web1.example.com', user: 'deploy', port: 22, written: { user: true, port: false } },
        { name: 'web5', host: '10.0.0.5', user: 'deploy', port: 22, written: { user: true, port: true } },
        { name: '[2001:db8::7]:2222', host: '2001:db8::7', user: 'root', port: 2222, written: { user: false, port: true } },
        { name: 'web6:2200', host: 'web6', user: 'root', port: 2200, written: { user: false, port: true } },
      ],
    });
  });

  it('lets an environment override any top-level key', () => {
    const resolved = resolveEnvironment(config, 'staging', { configFile: FILE, homeDir: '/home/me' });
    expect(resolved.app).toBe('hello-staging');
    expect(resolved.server.user).toBe('hello-staging');
    expect(resolved.deployTo).toBe('/opt/hello-staging');
    expect(resolved.health.healthyDeadline).toBe(120_000);
    expect(resolved.health.readiness).toBe('/readyz');
    expect(resolved.server.secrets).toEqual({ DATABASE_URL: 'postgres://staging', EXTRA: 'extra-secret' });
    expect(resolved.server.workers).toBe('auto');
    expect(resolved.server.forwardedAllowIps).toEqual(['127.0.0.1', '10.0.0.1']);
    expect(resolved.hosts).toEqual([{ name: 'staging1', host: 'staging1', user: 'root', port: 22, written: { user: false, port: false } }]);
  });

  it('spells deployTo one way: no doubled or trailing slash (the hosts compare it with what an installed unit says)', () => {
    const deployTo = (written: string) => resolveEnvironment({ ...config, deployTo: written }, 'production', { configFile: FILE, homeDir: '/home/me' }).deployTo;
    expect(deployTo('/srv//shop')).toBe('/srv/shop');
    expect(deployTo('//srv/shop/')).toBe('/srv/shop');
    expect(deployTo('/srv///shop//')).toBe('/srv/shop');
    expect(deployTo('/srv/shop')).toBe('/srv/shop');
  });

  it('readiness defaults to the liveness path; command line from server.command', () => {
    const resolved = resolveEnvironment(
      { app: 'api', server: { preset: 'command', command: './bin/api --fd 3', notify: true }, health: { liveness: '/up' }, environments: { prod: { hosts: ['h'] } } },
      'prod',
      { configFile: 'relative/deploy.config.ts', homeDir: '/home/me' },
    );
    expect(resolved.health.readiness).toBe('/up');
    expect(resolved.server.module).toBe('./bin/api --fd 3');
    expect(resolved.server.notify).toBe(true);
    expect(resolved.configFile).toBe(`${process.cwd()}/relative/deploy.config.ts`);
    expect(resolved.build.dir).toBe(`${process.cwd()}/relative`);
  });

  it('does not change its input', () => {
    const before = JSON.stringify(config);
    resolveEnvironment(config, 'production', { configFile: FILE });
    expect(JSON.stringify(config)).toBe(before);
  });
});

describe('mergeOverrides', () => {
  it('merges plain objects deeply, replaces arrays and other values, and keeps explicit undefined', () => {
    expect(
      mergeOverrides(
        { a: { b: 1, c: [1, 2], d: { e: 1 } }, f: 'x', s: { K: 'top' } },
        { a: { c: [3], d: { g: 2 } }, f: 'y', s: { K: undefined } },
      ),
    ).toEqual({ a: { b: 1, c: [3], d: { e: 1, g: 2 } }, f: 'y', s: { K: undefined } });
    expect(Object.hasOwn(mergeOverrides({ s: { K: 'top' } }, { s: { K: undefined } })['s'] as object, 'K')).toBe(true);
  });
});

describe('resolveLocalPath', () => {
  it('expands ~ and resolves relative paths against the config directory', () => {
    expect(resolveLocalPath('~', '/cfg', '/home/me')).toBe('/home/me');
    expect(resolveLocalPath('~/.ssh/id', '/cfg', '/home/me')).toBe('/home/me/.ssh/id');
    expect(resolveLocalPath('./dist', '/cfg', '/home/me')).toBe('/cfg/dist');
    expect(resolveLocalPath('.', '/cfg', '/home/me')).toBe('/cfg');
    expect(resolveLocalPath('/abs/x/../y', '/cfg', '/home/me')).toBe('/abs/y');
    expect(resolveLocalPath('~user/x', '/cfg', '/home/me')).toBe('/cfg/~user/x');
  });
});

// The type accepts what users write: optional sections, process.env secrets, numbers in env.
const typed: ShipitConfigInput = defineConfig({
  app: 'x',
  server: { preset: 'gunicorn', module: 'a:app', secrets: { TOKEN: process.env.SHIPIT_TEST_UNSET_TOKEN } },
  environments: { production: { hosts: ['h', { host: 'h2' }], server: { port: 9000 } } },
});
void typed;
