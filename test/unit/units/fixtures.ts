// Resolved configs for the unit tests, built the way the CLI builds them (schema defaults included).
import { resolveEnvironment } from '../../../src/config/resolve.js';
import type { ShipitConfigInput } from '../../../src/config/schema.js';
import type { ResolvedConfig } from '../../../src/config/types.js';

type Server = ShipitConfigInput['server'];

export function resolvedConfig(server: Server, extra: Partial<ShipitConfigInput> = {}): ResolvedConfig {
  return resolveEnvironment(
    { app: 'hello', server, ...extra, environments: { production: { hosts: ['web1'] } } } as ShipitConfigInput,
    'production',
    { configFile: '/work/app/deploy.config.ts', homeDir: '/home/me' },
  );
}

/** The golden cases: name → config. Goldens live in test/unit/units/golden/<name>.<service|socket>. */
export const GOLDEN_CASES: Record<string, ResolvedConfig> = {
  'gunicorn-auto': resolvedConfig({ preset: 'gunicorn', module: 'app.main:app' }),
  'gunicorn-fixed': resolvedConfig(
    { preset: 'gunicorn', module: 'app.main:app', workers: 4, port: 9000, bind: '10.0.0.5', timeout: 60, gracefulTimeout: 45, keepAlive: 2, forwardedAllowIps: ['10.0.0.1', '10.0.0.2'], user: 'web' },
    { deployTo: '/opt/hello' },
  ),
  'gunicorn-2cpu1': resolvedConfig(
    { preset: 'gunicorn', module: 'app.main:create_app()', workers: '2*cpu+1', bind: '::', workerClass: 'uvicorn_worker.UvicornWorker' },
    { health: { healthyDeadline: '5m' } },
  ),
  command: resolvedConfig({ preset: 'command', command: 'python3 -m uvicorn app.main:app --fd 3 --log-level "$LOG_LEVEL" --root-path 100%' }),
  node: resolvedConfig({ preset: 'node', module: 'server.js', workers: 'auto' }),
  'command-notify': resolvedConfig({ preset: 'command', command: './bin/server --workers "$WORKERS"', notify: true, workers: 'cpu-1' }, { deployTo: '/home/hello/app' }),
};
