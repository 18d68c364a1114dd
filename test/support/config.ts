import type { ResolvedConfig } from '../../src/config/types.js';

/** A resolved config for tests of the rollout and rendering; override what a test is about. */
export function testConfig(overrides: Partial<ResolvedConfig> = {}, hostCount = 4): ResolvedConfig {
  return {
    environment: 'production',
    app: 'hello',
    deployTo: '/srv/hello',
    configDir: '/work/app',
    configFile: '/work/app/deploy.config.ts',
    build: { command: undefined, dir: '/work/app/dist', exclude: ['.git', '.env', '.env.*'], gitignore: true },
    server: {
      preset: 'gunicorn',
      module: 'app.main:app',
      workerClass: 'uvicorn.workers.UvicornWorker',
      port: 8000,
      bind: '0.0.0.0',
      workers: 'auto',
      timeout: 30,
      gracefulTimeout: 20,
      keepAlive: 5,
      forwardedAllowIps: ['127.0.0.1'],
      env: { LOG_LEVEL: 'info' },
      secrets: { DATABASE_URL: 'postgres://user:hunter2@db/app' },
      user: 'hello',
    },
    health: { liveness: '/healthz', readiness: '/readyz', interval: 1000, timeout: 2000, successes: 2, minHealthyTime: 5000, healthyDeadline: 60_000 },
    rollout: { canary: 1, maxParallel: '50%', stagger: 0, progressDeadline: 600_000, autoRevert: true },
    keepReleases: 5,
    ssh: {
      knownHostsFile: '/root/.ssh/known_hosts',
      identityFiles: [],
      passphraseEnv: undefined,
      agent: true,
      connectTimeout: 10_000,
      keepaliveInterval: 5_000,
      commandTimeout: 120_000,
    },
    hosts: Array.from({ length: hostCount }, (_, i) => ({ name: `web${i + 1}`, host: `10.0.0.${i + 1}`, user: 'root', port: 22 })),
    ...overrides,
  };
}
