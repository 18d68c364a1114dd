// Every config rule, with the exact message a user reads. Messages name the path, show the value (never under
// secrets) and say what is expected.
import { resolveEnvironment } from '../../../src/config/resolve.js';
import type { ShipitConfigInput } from '../../../src/config/schema.js';
import { validateConfig } from '../../../src/config/validate.js';
import { ShipitError } from '../../../src/lib/errors.js';

const FILE = '/work/app/deploy.config.ts';

function base(): Record<string, any> {
  return {
    app: 'hello',
    server: { preset: 'gunicorn', module: 'app.main:app' },
    environments: { production: { hosts: ['web1'] } },
  };
}

/** The problem lines of validating (all environments) then resolving production; [] when valid. */
function problems(config: unknown, env = 'production'): string[] {
  try {
    validateConfig(config, { configFile: FILE });
    resolveEnvironment(config as ShipitConfigInput, env, { configFile: FILE, homeDir: '/home/me' });
    return [];
  } catch (error) {
    if (!(error instanceof ShipitError)) throw error;
    expect(error.code).toBe('CONFIG_INVALID');
    const [head, ...lines] = error.message.split('\n');
    expect(head).toBe(`${FILE}: invalid configuration (${lines.length} problem${lines.length === 1 ? '' : 's'}):`);
    return lines.map((line) => line.replace(/^ {2}- /, ''));
  }
}

/** base() with `patch` applied to a copy: `with_(c => c.server.port = 0)`. */
function with_(patch: (config: Record<string, any>) => void): Record<string, any> {
  const config = base();
  patch(config);
  return config;
}

describe('valid configs', () => {
  it('accepts the minimal config and the full example', () => {
    expect(problems(base())).toEqual([]);
    expect(
      problems({
        app: 'hello',
        deployTo: '/srv/hello',
        build: { command: 'npm run build', dir: 'dist' },
        server: {
          preset: 'gunicorn',
          module: 'app.main:app',
          workerClass: 'uvicorn.workers.UvicornWorker',
          port: 8000,
          workers: 'auto',
          timeout: 30,
          gracefulTimeout: 20,
          keepAlive: 5,
          forwardedAllowIps: ['127.0.0.1'],
          env: { LOG_LEVEL: 'info' },
          secrets: { DATABASE_URL: 'postgres://x' },
        },
        health: { liveness: '/healthz', readiness: '/readyz', interval: '1s', timeout: '2s', successes: 2, minHealthyTime: '5s', healthyDeadline: '60s' },
        rollout: { canary: 1, maxParallel: '25%', stagger: '0s', progressDeadline: '10m', autoRevert: true },
        keepReleases: 5,
        ssh: { knownHostsFile: '~/.ssh/known_hosts', identityFiles: [], passphraseEnv: 'SHIPIT_SSH_PASSPHRASE', agent: true, connectTimeout: '10s', keepaliveInterval: '5s', commandTimeout: '2m' },
        environments: { production: { hosts: ['deploy@web1.example.com', { host: '10.0.0.5', user: 'deploy', port: 22, name: 'web5' }] } },
      }),
    ).toEqual([]);
  });
});

describe('top level', () => {
  it('app: required, lowercase letters, digits and dashes', () => {
    expect(problems(with_((c) => delete c.app))).toEqual(['app: is required: the app name, e.g. "hello"']);
    expect(problems(with_((c) => (c.app = 'Hello_1')))).toEqual([
      'app: "Hello_1" is not a valid app name: expected lowercase letters, digits and dashes, starting with a letter (it names <app>.service and /srv/<app>)',
    ]);
    expect(problems(with_((c) => (c.app = '1hello')))).toHaveLength(1);
    expect(problems(with_((c) => (c.app = 'a'.repeat(65))))).toEqual([`app: "${'a'.repeat(65)}" is too long: expected at most 64 characters`]);
  });

  it('unknown keys fail, with a suggestion', () => {
    expect(problems(with_((c) => (c.keepRelease = 3)))).toEqual([
      'keepRelease: is not a known key (did you mean "keepReleases"?); expected one of: app, deployTo, build, server, health, rollout, keepReleases, ssh, environments',
    ]);
    expect(problems(with_((c) => (c.server.wokers = 3)))).toEqual([
      'server.wokers: is not a known key (did you mean "workers"?); expected one of: preset, module, command, workerClass, port, bind, workers, timeout, gracefulTimeout, keepAlive, forwardedAllowIps, env, secrets, user, notify, python, npm',
    ]);
    expect(problems(with_((c) => (c.environments.production.hosts = [{ host: 'web1', nme: 'x' }])))).toEqual([
      'environments.production.hosts[0].nme: is not a known key (did you mean "name"?); expected one of: host, user, port, name',
    ]);
  });

  it('deployTo: absolute, no spaces or quotes, not under /tmp', () => {
    expect(problems(with_((c) => (c.deployTo = 'srv/hello')))).toEqual([
      'deployTo: "srv/hello" is not an absolute path: expected a path on the hosts like "/srv/hello"',
    ]);
    expect(problems(with_((c) => (c.deployTo = '/srv/my app')))).toEqual([
      'deployTo: "/srv/my app" contains characters shipit does not put in unit files (spaces, quotes, $, %, \\): expected letters, digits and . _ + @ / -',
    ]);
    expect(problems(with_((c) => (c.deployTo = "/srv/it's")))).toHaveLength(1);
    expect(problems(with_((c) => (c.deployTo = '/srv/../etc')))).toEqual(['deployTo: "/srv/../etc" must not contain "." or ".." segments']);
    expect(problems(with_((c) => (c.deployTo = '/')))).toEqual(['deployTo: "/" is the root directory: expected a directory of its own like "/srv/hello"']);
    expect(problems(with_((c) => (c.deployTo = '/tmp/hello')))).toEqual([
      'deployTo: "/tmp/hello" is under a directory the service cannot use (PrivateTmp=, ProtectSystem=): expected e.g. "/srv/<app>"',
    ]);
    expect(problems(with_((c) => (c.deployTo = '//var//tmp/hello')))).toEqual([
      'deployTo: "//var//tmp/hello" is under a directory the service cannot use (PrivateTmp=, ProtectSystem=): expected e.g. "/srv/<app>"',
    ]);
    expect(problems(with_((c) => (c.deployTo = '/opt/hello-1.0/x_y+z@w')))).toEqual([]);
  });

  it('keepReleases: at least 2', () => {
    expect(problems(with_((c) => (c.keepReleases = 1)))).toEqual([
      'keepReleases: 1 is too small: keep at least 2 releases so there is one to roll back to',
    ]);
    expect(problems(with_((c) => (c.keepReleases = 2.5)))).toEqual(['keepReleases: 2.5 is not an integer']);
  });

  it('the file must export an object', () => {
    expect(problems('hello')).toEqual(['the config must export an object (export default defineConfig({ app, server, environments }))']);
  });
});

describe('environments and hosts', () => {
  it('environments: required and not empty', () => {
    expect(problems(with_((c) => delete c.environments))).toEqual(['environments: is required: expected an object']);
    expect(problems(with_((c) => (c.environments = {})))).toEqual([
      'environments: is empty: define at least one environment, e.g. environments: { production: { hosts: ["deploy@web1.example.com"] } }',
    ]);
    expect(problems(with_((c) => (c.environments = { 'prod env': { hosts: ['web1'] }, production: { hosts: ['web1'] } })))).toEqual([
      'environments["prod env"]: key "prod env" is not a valid environment name: expected letters, digits, _ and -',
    ]);
  });

  it('hosts: required per environment, at least one', () => {
    expect(problems(with_((c) => delete c.environments.production.hosts))).toEqual(['environments.production.hosts: is required: expected a list']);
    expect(problems(with_((c) => (c.environments.production.hosts = [])))).toEqual(['environments.production.hosts: needs at least one host']);
    expect(problems(with_((c) => (c.hosts = ['web1'])))).toEqual([
      'hosts: is not a known key; expected one of: app, deployTo, build, server, health, rollout, keepReleases, ssh, environments',
    ]);
  });

  it('host strings: [user@]host[:port] with a DNS name, IPv4 or bracketed IPv6', () => {
    const hosts = (list: unknown[]) => with_((c) => (c.environments.production.hosts = list));
    expect(problems(hosts(['web1', 'deploy@web2.example.com', 'web3:2222', 'u@10.0.0.5:22', '[2001:db8::1]', 'deploy@[::1]:2200', 'fe80::1']))).toEqual([]);
    const invalid = 'is not a valid host: expected "[user@]host[:port]" or { host, user?, port?, name? } with a DNS name, an IPv4 address or a bracketed IPv6 address';
    expect(problems(hosts(['web1', 'web 2']))).toEqual([`environments.production.hosts[1]: "web 2" ${invalid}`]);
    for (const bad of ['web1:0', 'web1:65536', 'web1:x', '10.0.0.300', '-web', 'a..b', 'us er@web1', '[::1', '[web1]:22', '2001:db8::1:22:x', '']) {
      expect(problems(hosts([bad]))).toEqual([`environments.production.hosts[0]: ${JSON.stringify(bad)} ${invalid}`]);
    }
    expect(problems(hosts([42]))).toEqual([`environments.production.hosts[0]: 42 ${invalid}`]);
  });

  it('build.exclude: patterns, negations that ship a file again; a pattern naming nothing is refused', () => {
    const exclude = (list: unknown) => with_((c) => (c.build = { dir: '.', exclude: list }));
    expect(problems(exclude(['*.log', 'tmp/', '/build', '!.env.example']))).toEqual([]);
    const none = 'names no file: expected a pattern like "*.log", "tmp/" or "!.env.example"';
    expect(problems(exclude(['!', '/', '!/']))).toEqual([`build.exclude[0]: "!" ${none}`, `build.exclude[1]: "/" ${none}`, `build.exclude[2]: "!/" ${none}`]);
    expect(problems(exclude(['']))).toEqual(['build.exclude[0]: is empty: expected a pattern like "*.log" or "tmp/"']);
  });

  it('host objects: { host, user?, port?, name? }', () => {
    const hosts = (list: unknown[]) => with_((c) => (c.environments.production.hosts = list));
    expect(problems(hosts([{ host: 'web 5' }]))).toEqual([
      'environments.production.hosts[0].host: "web 5" is not a valid host: expected a DNS name, an IPv4 or an IPv6 address',
    ]);
    expect(problems(hosts([{ host: 'web5', port: 0, user: 'a b', name: 'x y' }]))).toEqual([
      'environments.production.hosts[0].user: "a b" is not a valid SSH user name',
      'environments.production.hosts[0].port: 0 is too small: expected at least 1',
      'environments.production.hosts[0].name: "x y" is not a valid host name: expected letters, digits and . _ -',
    ]);
    expect(problems(hosts([{ user: 'deploy' }]))).toEqual(['environments.production.hosts[0].host: is required: expected a string']);
  });

  it('host names are unique within an environment, and a machine appears once', () => {
    const hosts = (list: unknown[]) => with_((c) => (c.environments.production.hosts = list));
    expect(problems(hosts(['web1', { host: '10.0.0.5', name: 'web1' }]))).toEqual([
      'environments.production.hosts[1]: is named "web1" like hosts[0]: host names must be unique within an environment; set name: to tell them apart',
    ]);
    expect(problems(hosts(['a@web1', 'b@web1']))).toHaveLength(1);
    expect(problems(hosts(['web1', { host: 'WEB1', name: 'other' }]))).toEqual([
      'environments.production.hosts[1]: is the same machine as hosts[0] (WEB1): deploying to it twice would race',
    ]);
    // Same address, different ssh ports: two machines (e.g. containers behind port forwards).
    expect(problems(hosts(['127.0.0.1:2201', '127.0.0.1:2202']))).toEqual([]);
    // The same name in two environments is fine.
    expect(problems(with_((c) => (c.environments.staging = { hosts: ['web1'] })))).toEqual([]);
  });

  it('unknown environment: a typo names the environment meant, case aside; a guess among equals does not', () => {
    const config = with_((c) => (c.environments.staging = { hosts: ['web9'] }));
    const message = (env: string) => {
      try {
        resolveEnvironment(config as ShipitConfigInput, env, { configFile: FILE });
      } catch (error) {
        return (error as ShipitError).message;
      }
      throw new Error('resolved');
    };
    expect(message('prodution')).toBe(`unknown environment "prodution" (did you mean "production"?): ${FILE} defines "production", "staging"`);
    expect(message('stagng')).toBe(`unknown environment "stagng" (did you mean "staging"?): ${FILE} defines "production", "staging"`);
    expect(message('Production')).toContain('(did you mean "production"?)');
    expect(message('qa')).toBe(`unknown environment "qa": ${FILE} defines "production", "staging"`);
  });

  it('unknown environment lists the known ones', () => {
    const config = with_((c) => (c.environments.staging = { hosts: ['web9'] }));
    expect(() => resolveEnvironment(config as ShipitConfigInput, 'prod', { configFile: FILE })).toThrow(
      new ShipitError('USAGE', `unknown environment "prod": ${FILE} defines "production", "staging"`),
    );
    try {
      resolveEnvironment(config as ShipitConfigInput, 'prod', { configFile: FILE });
    } catch (error) {
      expect((error as ShipitError).hint).toBe('use one of: production, staging');
    }
  });
});

describe('server', () => {
  const server = (patch: Record<string, unknown>) => with_((c) => Object.assign(c.server, patch));

  it('preset: required, one of gunicorn, node, command', () => {
    expect(problems(with_((c) => delete c.server.preset))).toEqual(['server.preset: is required: expected "gunicorn", "node" or "command"']);
    expect(problems(server({ preset: 'uwsgi' }))).toEqual(['server.preset: "uwsgi" is not a preset: expected "gunicorn", "node" or "command"']);
    expect(problems(with_((c) => delete c.server))).toEqual(['server: is required: expected an object']);
  });

  it('gunicorn needs module "pkg.mod:app"', () => {
    expect(problems(server({ module: undefined }))).toEqual([
      'server.module: is required for preset "gunicorn": expected the app as "package.module:app", e.g. "app.main:app"',
    ]);
    expect(problems(server({ module: 'app/main.py' }))).toEqual([
      'server.module: "app/main.py" is not a Gunicorn app: expected "package.module:app", e.g. "app.main:app"',
    ]);
    expect(problems(server({ module: 'app.main:create_app()' }))).toEqual([]);
    expect(problems(server({ module: 'main:app' }))).toEqual([]);
  });

  it('node needs an entry file', () => {
    expect(problems(server({ preset: 'node', module: undefined }))).toEqual([
      'server.module: is required for preset "node": expected the entry file, e.g. "dist/server.js"',
    ]);
    expect(problems(server({ preset: 'node', module: '/abs/server.js' }))).toEqual([
      'server.module: "/abs/server.js" is not an entry file: expected a path relative to the release, e.g. "dist/server.js"',
    ]);
    expect(problems(server({ preset: 'node', module: '../server.js' }))).toHaveLength(1);
  });

  it('command needs one simple command line (in command or module)', () => {
    expect(problems(server({ preset: 'command', module: undefined }))).toEqual([
      'server.command: is required for preset "command": expected the command line to run, e.g. "./bin/server --port $PORT"',
    ]);
    expect(problems(server({ preset: 'command', module: undefined, command: './bin/server --fd 3' }))).toEqual([]);
    expect(problems(server({ preset: 'command', module: 'python3 -m uvicorn app:app --fd 3' }))).toEqual([]);
    expect(problems(server({ preset: 'command', module: undefined, command: '   ' }))).toEqual([
      'server.command: "   " is not a command line: expected e.g. "./bin/server --port $PORT"',
    ]);
    expect(problems(server({ preset: 'command', module: undefined, command: 'a\nb' }))).toEqual(['server.command: must be a single line without control characters']);
    expect(problems(server({ preset: 'command', module: undefined, command: 'migrate && serve' }))).toEqual([
      'server.command: "migrate && serve" is not one simple command (it contains "&&"): shipit runs it with exec so that it is the service\'s main process and receives the socket; put the steps in a script in your release and run that',
    ]);
    expect(problems(server({ preset: 'command', module: 'a', command: 'b' }))).toEqual(['server.command: is set together with server.module: keep one of them']);
    expect(problems(server({ command: './x' }))).toEqual(['server.command: is only used by preset "command" (preset is "gunicorn"): use server.module']);
  });

  it('notify is for the command preset', () => {
    expect(problems(server({ preset: 'command', module: './x', notify: true }))).toEqual([]);
    expect(problems(server({ notify: true }))).toEqual(['server.notify: is only used by preset "command" (preset "gunicorn" always uses Type=notify)']);
    expect(problems(server({ notify: 'yes' }))).toEqual(['server.notify: "yes" is not true or false']);
    expect(problems(server({ preset: 'command', module: './x', notify: 'true' }))).toEqual(['server.notify: "true" is not true or false: write true, without quotes']);
  });

  it('port 1-65535, bind an IP address', () => {
    expect(problems(server({ port: 0 }))).toEqual(['server.port: 0 is too small: expected at least 1']);
    expect(problems(server({ port: 65536 }))).toEqual(['server.port: 65536 is too big: expected at most 65535']);
    // A new user's quoted port: the message says how to write it.
    expect(problems(server({ port: '8000' }))).toEqual(['server.port: "8000" is not a number: write 8000, without quotes']);
    expect(problems(server({ port: 'http' }))).toEqual(['server.port: "http" is not a number']);
    expect(problems(server({ port: 80.5 }))).toEqual(['server.port: 80.5 is not an integer']);
    expect(problems(server({ bind: 'localhost' }))).toEqual([
      'server.bind: "localhost" is not an address to listen on: expected an IPv4 or IPv6 address like "0.0.0.0", "127.0.0.1" or "::"',
    ]);
    for (const ok of ['0.0.0.0', '::', '[::]', '127.0.0.1', '2001:db8::1']) expect(problems(server({ bind: ok }))).toEqual([]);
  });

  it('workers: auto, a positive integer, or an expression of cpu', () => {
    for (const ok of ['auto', 1, 4, '2*cpu+1', 'cpu', 'cpu * 2', 'cpu-1', '4', 'cpu/2', '2*cpu/3']) expect(problems(server({ workers: ok }))).toEqual([]);
    const message = 'is not a worker count: expected "auto", an integer 1-1024, or an expression of cpu with + - * / and integers like "2*cpu+1" or "cpu/2"';
    for (const bad of [0, -1, 1.5, 2000, 'all', '2*cpu+', '2**cpu', 'cpu/0', 'cpu//2', '(cpu+1)*2', '2*3', 'cpus', '']) {
      expect(problems(server({ workers: bad }))).toEqual([`server.workers: ${JSON.stringify(bad)} ${message}`]);
    }
    expect(problems(server({ workers: true }))).toEqual([
      'server.workers: true is not a worker count: expected "auto", a number, or an expression of cpu like "2*cpu+1"',
    ]);
  });

  it('workers: an expression below 1 on every host is an error naming the field, not 1 worker in silence', () => {
    const message = (atOne: number, atMost: number) =>
      `gives no worker on any host (${atOne} at 1 CPU, ${atMost} at 256 CPUs), so every host would run 1 worker: write an expression that is at least 1 on a large host, like "cpu" or "2*cpu+1", a fixed count like 4, or "auto" (one per CPU)`;
    expect(problems(server({ workers: '0*cpu' }))).toEqual([`server.workers: "0*cpu" ${message(0, 0)}`]);
    expect(problems(server({ workers: 'cpu-1000' }))).toEqual([`server.workers: "cpu-1000" ${message(-999, -744)}`]);
    expect(problems(server({ workers: '1-cpu' }))).toEqual([`server.workers: "1-cpu" ${message(0, -255)}`]);
    // Below 1 on small hosts only: clamped to 1 there, as documented.
    for (const ok of ['cpu-1', 'cpu-4', '2*cpu-3']) expect(problems(server({ workers: ok }))).toEqual([]);
  });

  it('timeouts: whole seconds as numbers or duration strings', () => {
    expect(problems(server({ timeout: '30s', gracefulTimeout: '1m', keepAlive: 2 }))).toEqual([]);
    expect(problems(server({ timeout: 0 }))).toEqual(['server.timeout: 0 is not a whole number of seconds ≥ 1: expected e.g. 30 or "30s"']);
    expect(problems(server({ keepAlive: '1500ms' }))).toEqual([
      'server.keepAlive: "1500ms" is not a whole number of seconds ≥ 1: expected e.g. 30 or "30s"',
    ]);
  });

  it('forwardedAllowIps: IP addresses or "*"', () => {
    expect(problems(server({ forwardedAllowIps: ['*'] }))).toEqual([]);
    expect(problems(server({ forwardedAllowIps: ['10.0.0.1', 'lb.internal'] }))).toEqual([
      'server.forwardedAllowIps[1]: "lb.internal" is not an IP address: expected an IPv4 or IPv6 address, or "*" to trust every proxy',
    ]);
    expect(problems(server({ forwardedAllowIps: '127.0.0.1' }))).toEqual(['server.forwardedAllowIps: "127.0.0.1" is not a list']);
  });

  it('workerClass: a Python class path; user: unprivileged', () => {
    expect(problems(server({ workerClass: 'uvicorn_worker.UvicornWorker' }))).toEqual([]);
    expect(problems(server({ workerClass: 'uvicorn workers' }))).toEqual([
      'server.workerClass: "uvicorn workers" is not a Python class path: expected e.g. "uvicorn.workers.UvicornWorker"',
    ]);
    expect(problems(server({ user: 'root' }))).toEqual(['server.user: "root" is not allowed: the service runs as an unprivileged user']);
    expect(problems(server({ user: 'Web User' }))).toEqual([
      'server.user: "Web User" is not a valid user name: expected lowercase letters, digits, _ and -, starting with a letter or _',
    ]);
  });

  it('env: valid names, string/number/boolean values, no reserved names', () => {
    expect(problems(server({ env: { LOG_LEVEL: 'info', DEBUG: false, THREADS: 4 } }))).toEqual([]);
    expect(problems(server({ env: { 'LOG-LEVEL': 'info', '1X': 'a' } }))).toEqual([
      'server.env["LOG-LEVEL"]: key "LOG-LEVEL" is not a valid environment variable name: expected letters, digits and _, not starting with a digit',
      'server.env["1X"]: key "1X" is not a valid environment variable name: expected letters, digits and _, not starting with a digit',
    ]);
    expect(problems(server({ env: { A: { b: 1 } } }))).toEqual(['server.env.A: {"b":1} is not a string, number or boolean']);
    expect(problems(server({ env: { PORT: '80', LISTEN_FDS: '1' } }))).toEqual([
      'server.env.PORT: is reserved: set server.port instead',
      'server.env.LISTEN_FDS: is reserved: systemd sets it for socket activation',
    ]);
    // The node preset's unit sets these from server.*: shared/env would override it unseen.
    expect(problems(server({ env: { SHIPIT_APP: 'nope.js', SHIPIT_TIMEOUT: '5', SHIPIT_LOG_LEVEL: 'debug', SHIPIT_BOOT_TIMEOUT: '120' } }))).toEqual([
      'server.env.SHIPIT_APP: is reserved: set server.module instead',
      'server.env.SHIPIT_TIMEOUT: is reserved: set server.timeout instead',
      'server.env.SHIPIT_BOOT_TIMEOUT: is reserved: the unit derives it from health.healthyDeadline: raise that for an app that boots slowly',
    ]);
    expect(problems(server({ env: { PEM: 'line1\nline2' } }))).toEqual([
      'server.env.PEM: must not contain newlines or control characters (a systemd EnvironmentFile cannot hold them reliably); base64-encode multi-line values such as PEM keys',
    ]);
  });

  it('secrets: strings, set, not also in env; values never shown', () => {
    const secret = 'pa$$w0rd-"quoted"';
    expect(problems(server({ secrets: { DATABASE_URL: secret } }))).toEqual([]);
    expect(problems(server({ secrets: { DATABASE_URL: undefined } }))).toEqual([
      'server.secrets.DATABASE_URL: is not set: the config gives it no value, usually a process.env variable not exported here (for `DATABASE_URL: process.env.DATABASE_URL`, run `export DATABASE_URL=...`); set the variable it reads before running shipit, or remove the key',
    ]);
    expect(problems(server({ secrets: { PIN: 1234 } }))).toEqual(['server.secrets.PIN: is not a string: secret values must be strings']);
    expect(problems(server({ env: { TOKEN: 'x' }, secrets: { TOKEN: secret } }))).toEqual([
      'server.secrets.TOKEN: is set in both server.env and server.secrets: keep it in one of them',
    ]);
    expect(problems(server({ secrets: { 'bad key': secret } }))).toEqual([
      'server.secrets["bad key"]: key "bad key" is not a valid environment variable name: expected letters, digits and _, not starting with a digit',
    ]);
    const multiline = `${secret}\nsecond line`;
    const lines = problems(server({ secrets: { KEY: multiline } }));
    expect(lines).toEqual([
      'server.secrets.KEY: must not contain newlines or control characters (a systemd EnvironmentFile cannot hold them reliably); base64-encode multi-line values such as PEM keys',
    ]);
    expect(problems(server({ secrets: secret }))).toEqual(['server.secrets: <hidden> is not an object']);
  });

  it('secrets too short to redact are refused, naming the key, and the message that says so is not garbled', () => {
    const tooShort = (key: string) =>
      `server.secrets.${key}: is shorter than 8 characters, too short to keep out of shipit's output (every occurrence of it in plan, logs and errors would be redacted): if it is not secret, move it to server.env; if it is, use a longer value`;
    // Redacting "e" or "s" would have blanked every e and s of this very line.
    expect(problems(server({ secrets: { PIN: 'e', FLAG: 's', CODE: 'abc1234' } }))).toEqual([tooShort('PIN'), tooShort('FLAG'), tooShort('CODE')]);
    // Counted in characters, not bytes: 8 characters of 2 bytes each are enough.
    expect(problems(server({ secrets: { DATABASE_URL: 'abcd1234', PASS: 'éééééééé', EMPTY: '' } }))).toEqual([]);
    // Per environment too.
    expect(problems(with_((c) => (c.environments.production.server = { secrets: { TOKEN: 'ab' } })))).toEqual([
      "environments.production.server.secrets.TOKEN: is shorter than 8 characters, too short to keep out of shipit's output (every occurrence of it in plan, logs and errors would be redacted): if it is not secret, move it to server.env; if it is, use a longer value",
    ]);
  });

  it('a secret value never appears in any error text, even when the same value is misplaced elsewhere', () => {
    const secret = 'Hunter2!very-secret';
    const config = with_((c) => {
      c.server.secrets = { API_KEY: secret, N: 5 };
      c.server.user = secret; // a user pasted the secret into the wrong key
      c.environments.production.server = { secrets: { API_KEY: undefined, OTHER: [secret] } };
    });
    let text = '';
    try {
      validateConfig(config, { configFile: FILE });
    } catch (error) {
      text += (error as Error).message;
    }
    try {
      resolveEnvironment(config as ShipitConfigInput, 'production', { configFile: FILE });
    } catch (error) {
      text += (error as Error).message;
    }
    expect(text).toContain('server.user: "[redacted]" is not a valid user name');
    expect(text).toContain('environments.production.server.secrets.OTHER: is not a string: secret values must be strings');
    expect(text).toContain('environments.production.server.secrets.API_KEY: is not set');
    expect(text).not.toContain(secret);
  });
});

describe('health, rollout, ssh', () => {
  it('durations: strings or milliseconds', () => {
    expect(problems(with_((c) => (c.health = { interval: 500, timeout: '1.5s', healthyDeadline: '2m' })))).toEqual([]);
    expect(problems(with_((c) => (c.health = { interval: '1 sec' })))).toEqual([
      'health.interval: "1 sec" is not a duration: expected milliseconds or a string like "500ms", "5s", "2m", "1h"',
    ]);
    expect(problems(with_((c) => (c.ssh = { connectTimeout: -5 })))).toEqual([
      'ssh.connectTimeout: -5 is not a duration: expected milliseconds or a string like "500ms", "5s", "2m", "1h"',
    ]);
    expect(problems(with_((c) => (c.rollout = { stagger: true })))).toEqual([
      'rollout.stagger: true is not a duration: expected milliseconds or a string like "500ms", "5s", "2m", "1h"',
    ]);
  });

  it('health paths start with "/"; the deadline exceeds minHealthyTime', () => {
    expect(problems(with_((c) => (c.health = { readiness: 'readyz' })))).toEqual([
      'health.readiness: "readyz" is not an HTTP path: expected a path starting with "/" and without spaces or quotes, like "/healthz"',
    ]);
    expect(problems(with_((c) => (c.health = { liveness: '/health z' })))).toHaveLength(1);
    expect(problems(with_((c) => (c.health = { readiness: '/ready?deep=1' })))).toEqual([]);
    expect(problems(with_((c) => (c.health = { minHealthyTime: '1m', healthyDeadline: '30s' })))).toEqual([
      'health.healthyDeadline: must be longer than health.minHealthyTime',
    ]);
    expect(problems(with_((c) => (c.health = { successes: 0 })))).toEqual(['health.successes: 0 is too small: expected at least 1']);
  });

  it('progressDeadline exceeds minHealthyTime: no rollout could progress sooner (also when an environment sets one)', () => {
    expect(problems(with_((c) => ((c.rollout = { progressDeadline: '1s' }), (c.health = { minHealthyTime: '1s' }))))).toEqual([
      'rollout.progressDeadline: must be longer than health.minHealthyTime: no host can become healthy sooner',
    ]);
    expect(problems(with_((c) => (c.rollout = { progressDeadline: '3s' })))).toEqual(['rollout.progressDeadline: must be longer than health.minHealthyTime: no host can become healthy sooner']);
    expect(problems(with_((c) => (c.rollout = { progressDeadline: '6s' })))).toEqual([]);
  });

  it('maxParallel: a positive integer or 1%..100%; canary ≥ 0', () => {
    for (const ok of [1, 10, '1%', '25%', '100%']) expect(problems(with_((c) => (c.rollout = { maxParallel: ok })))).toEqual([]);
    for (const bad of [0, 1.5, '0%', '101%', '25', '2.5%', 'half']) {
      expect(problems(with_((c) => (c.rollout = { maxParallel: bad })))).toEqual([
        `rollout.maxParallel: ${JSON.stringify(bad)} is not a batch size: expected a positive number of hosts or a percentage from "1%" to "100%"`,
      ]);
    }
    expect(problems(with_((c) => (c.rollout = { canary: -1 })))).toEqual(['rollout.canary: -1 is too small: expected at least 0']);
    expect(problems(with_((c) => (c.rollout = { canary: 0 })))).toEqual([]);
  });

  it('ssh: passphraseEnv is a variable name', () => {
    expect(problems(with_((c) => (c.ssh = { passphraseEnv: '$PASS' })))).toEqual([
      'ssh.passphraseEnv: "$PASS" is not a valid environment variable name: expected letters, digits and _, not starting with a digit',
    ]);
    expect(problems(with_((c) => (c.ssh = { identityFiles: 'id_rsa' })))).toEqual(['ssh.identityFiles: "id_rsa" is not a list']);
  });
});

describe('where a problem is reported', () => {
  it('a value set by an environment is reported under environments.<name>', () => {
    const config = with_((c) => {
      c.environments.production.server = { port: 0 };
      c.environments.staging = { hosts: ['web2'], keepReleases: 1, server: { workers: 'many' } };
    });
    expect(problems(config)).toEqual([
      'environments.production.server.port: 0 is too small: expected at least 1',
      'environments.staging.server.workers: "many" is not a worker count: expected "auto", an integer 1-1024, or an expression of cpu with + - * / and integers like "2*cpu+1" or "cpu/2"',
      'environments.staging.keepReleases: 1 is too small: keep at least 2 releases so there is one to roll back to',
    ]);
  });

  it('a top-level problem is reported once, not once per environment', () => {
    const config = with_((c) => {
      c.server.port = 0;
      c.environments.staging = { hosts: ['web2'] };
      c.environments.qa = { hosts: ['web3'] };
    });
    expect(problems(config)).toEqual(['server.port: 0 is too small: expected at least 1']);
  });

  it('a rule broken only after merging names the environment where the value was written', () => {
    const config = with_((c) => {
      c.environments.staging = { hosts: ['web2'], server: { preset: 'command' } };
    });
    // staging switched the preset but inherits module "app.main:app" as its command line: allowed (module is
    // the command line for preset command). Switching to node needs a module that is an entry file:
    config.environments.staging.server = { preset: 'node' };
    expect(problems(config)).toEqual([
      'server.module: "app.main:app" is not an entry file: expected a path relative to the release, e.g. "dist/server.js"',
    ]);
    config.environments.staging.server = { preset: 'node', module: 'app.main:app' };
    expect(problems(config)).toEqual([
      'environments.staging.server.module: "app.main:app" is not an entry file: expected a path relative to the release, e.g. "dist/server.js"',
    ]);
  });

  it('an unset secret only matters for the environment being deployed', () => {
    const config = with_((c) => {
      c.environments.staging = { hosts: ['web2'], server: { secrets: { DATABASE_URL: undefined } } };
      c.environments.production.server = { secrets: { DATABASE_URL: 'postgres://prod' } };
    });
    expect(problems(config, 'production')).toEqual([]);
    expect(problems(config, 'staging')).toEqual([
      'environments.staging.server.secrets.DATABASE_URL: is not set: the config gives it no value, usually a process.env variable not exported here (for `DATABASE_URL: process.env.DATABASE_URL`, run `export DATABASE_URL=...`); set the variable it reads before running shipit, or remove the key',
    ]);
  });
});
