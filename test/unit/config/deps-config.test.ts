// server.python and server.npm: defaults, paths relative to the config file, which presets take them.
import { resolveEnvironment } from '../../../src/config/resolve.js';
import type { ShipitConfigInput } from '../../../src/config/schema.js';
import { validateConfig } from '../../../src/config/validate.js';
import { ShipitError } from '../../../src/lib/errors.js';

const FILE = '/work/app/deploy.config.ts';

const resolve = (server: Record<string, unknown>) =>
  resolveEnvironment({ app: 'hello', server, environments: { production: { hosts: ['web1'] } } } as ShipitConfigInput, 'production', { configFile: FILE, homeDir: '/home/me' });

function problems(server: Record<string, unknown>): string[] {
  try {
    validateConfig({ app: 'hello', server, environments: { production: { hosts: ['web1'] } } }, { configFile: FILE });
    resolve(server);
    return [];
  } catch (error) {
    if (!(error instanceof ShipitError)) throw error;
    return error.message.split('\n').slice(1).map((line) => line.replace(/^ {2}- /, ''));
  }
}

describe('server.python and server.npm', () => {
  it('are absent unless written: the system runs the app, as before', () => {
    const server = resolve({ preset: 'gunicorn', module: 'app.main:app' }).server;
    expect(server.python).toBeUndefined();
    expect(server.npm).toBeUndefined();
  });

  it('python: defaults, local paths resolved against the config file', () => {
    expect(resolve({ preset: 'gunicorn', module: 'app.main:app', python: {} }).server.python).toEqual({
      requirements: '/work/app/requirements.txt',
      wheelhouse: undefined,
      systemSitePackages: false,
      interpreter: 'python3',
    });
    expect(
      resolve({ preset: 'command', command: 'python3 -m app', python: { requirements: 'dist/req.txt', wheelhouse: '~/wheels', systemSitePackages: true, interpreter: '/usr/bin/python3.11' } }).server.python,
    ).toEqual({ requirements: '/work/app/dist/req.txt', wheelhouse: '/home/me/wheels', systemSitePackages: true, interpreter: '/usr/bin/python3.11' });
  });

  it('npm: the lock file, resolved against the config file', () => {
    expect(resolve({ preset: 'node', module: 'server.js', npm: {} }).server.npm).toEqual({ lockfile: '/work/app/package-lock.json' });
  });

  it('each belongs to the presets that run its language; bad values are named', () => {
    expect(problems({ preset: 'node', module: 'server.js', python: {} })).toEqual(['server.python: is only used by presets "gunicorn" and "command" (preset is "node")']);
    expect(problems({ preset: 'gunicorn', module: 'app.main:app', npm: {} })).toEqual(['server.npm: is only used by presets "node" and "command" (preset is "gunicorn")']);
    expect(problems({ preset: 'gunicorn', module: 'app.main:app', python: { interpreter: 'python3; rm -rf /' } })).toEqual([
      'server.python.interpreter: "python3; rm -rf /" is not an interpreter: expected a command name like "python3" or an absolute path like "/usr/bin/python3.11"',
    ]);
    expect(problems({ preset: 'gunicorn', module: 'app.main:app', python: { requirement: 'x' } })[0]).toMatch(/^server\.python\.requirement: is not a known key \(did you mean "requirements"\?\)/);
  });
});
