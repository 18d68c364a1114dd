import { ShipitError } from '../../../src/lib/errors.js';
import { shExecStart, shWord, systemdArg } from '../../../src/units/escape.js';
import { commandScript, forwardedAllowIps, gunicornScript, workersShell } from '../../../src/units/exec-start.js';
import { listenDirectives, nodeBootTimeoutSeconds, renderEnvFile, renderService, renderUnits } from '../../../src/units/render.js';
import { restartLimitSeconds } from '../../../src/remote/scripts.js';
import { parseRuntimeConfig } from '../../../src/runtime/config.js';
import { readTemplate, renderTemplate } from '../../../src/units/template.js';
import { processTitle } from '../../../src/runtime/title.js';
import { resolvedConfig } from './fixtures.js';

describe('renderTemplate', () => {
  it('fills placeholders and drops lines whose only placeholder is empty', () => {
    expect(renderTemplate('[A]\nX={{x}}\n{{optional}}\nY={{ y }}', { x: 1, optional: '', y: 'b' })).toBe('[A]\nX=1\nY=b');
    expect(renderTemplate('{{multi}}\nZ', { multi: 'A=1\nB=2' })).toBe('A=1\nB=2\nZ');
  });

  it('fails on a placeholder without a value, naming the template', () => {
    expect(() => renderTemplate('X={{x}} {{y}} {{z}}', { y: '' }, 'units/t.tmpl')).toThrow(new ShipitError('INTERNAL', 'units/t.tmpl: no value for {{x}}, {{z}}'));
    expect(() => renderTemplate('X={{bad-name}}', {}, 't')).toThrow('t: malformed placeholder near "{{bad-name}}"');
  });

  it('every placeholder of the shipped templates gets a value', () => {
    for (const file of ['socket.tmpl', 'gunicorn.service.tmpl', 'command.service.tmpl', 'partials/hardening.tmpl']) {
      expect(readTemplate(file)).toContain('{{app}}');
    }
    const units = renderUnits(resolvedConfig({ preset: 'gunicorn', module: 'app.main:app' }));
    for (const unit of units) expect(unit.content).not.toMatch(/\{\{|\}\}/);
  });
});

describe('systemd and shell quoting', () => {
  it('systemdArg keeps the text exact through systemd: \\ and \' escaped, $ and % doubled', () => {
    expect(systemdArg(`a 'b' \\c $HOME %h "d"`)).toBe(`'a \\'b\\' \\\\c $$HOME %%h "d"'`);
    expect(() => systemdArg('a\nb')).toThrow('a unit command line cannot contain control characters');
  });

  it('shWord quotes only what needs it', () => {
    expect(shWord('app.main:app')).toBe('app.main:app');
    expect(shWord('10.0.0.1,10.0.0.2')).toBe('10.0.0.1,10.0.0.2');
    expect(shWord('*')).toBe(`'*'`);
    expect(shWord('create_app()')).toBe(`'create_app()'`);
    expect(shWord(`it's`)).toBe(`'it'\\''s'`);
    expect(shExecStart('exec x')).toBe(`/bin/sh -c 'exec x'`);
  });
});

describe('ExecStart scripts', () => {
  it('workers: auto → nproc at start; a number; a cpu expression in shell arithmetic, at least 1', () => {
    expect(workersShell('auto')).toMatchObject({ prelude: [], value: '"${WORKERS:-$(OMP_NUM_THREADS= OMP_THREAD_LIMIT= nproc)}"' });
    expect(workersShell(4)).toMatchObject({ prelude: [], value: '"${WORKERS:-4}"' });
    expect(workersShell('2 * cpu + 1')).toMatchObject({
      prelude: ['cpu=$(OMP_NUM_THREADS= OMP_THREAD_LIMIT= nproc)', 'w=$((2*$cpu+1))', '[ "$w" -ge 1 ] || w=1'],
      value: '"${WORKERS:-$w}"',
    });
    expect(() => workersShell('lots')).toThrow('server.workers: "lots" is not a worker count');
  });

  it('gunicorn: exec, no --bind, every setting as a flag, the app last', () => {
    const config = resolvedConfig({ preset: 'gunicorn', module: 'app.main:app', workers: 3, forwardedAllowIps: ['*'] });
    expect(gunicornScript(config, workersShell(3))).toBe(
      'exec gunicorn --config .shipit/gunicorn.conf.py --name hello --worker-class uvicorn.workers.UvicornWorker --workers "${WORKERS:-3}" --timeout 30 --graceful-timeout 20 ' +
        "--keep-alive 5 --forwarded-allow-ips '*' --backlog 4096 --worker-tmp-dir /run/hello --access-logfile - --error-logfile - app.main:app",
    );
    expect(gunicornScript(config, workersShell(3))).not.toContain('--bind');
  });

  it('command: the user\'s line verbatim after exec, WORKERS exported', () => {
    const config = resolvedConfig({ preset: 'command', command: `./srv --name "it's" --x '$HOME' 100%` });
    expect(commandScript(config, workersShell('auto'))).toBe(
      `export WORKERS="\${WORKERS:-$(OMP_NUM_THREADS= OMP_THREAD_LIMIT= nproc)}"; exec ./srv --name "it's" --x '$HOME' 100%`,
    );
    expect(renderService(config)).toContain(
      `ExecStart=/bin/sh -c 'export WORKERS="$\${WORKERS:-$$(OMP_NUM_THREADS= OMP_THREAD_LIMIT= nproc)}"; exec ./srv --name "it\\'s" --x \\'$$HOME\\' 100%%'\n`,
    );
  });

  it('on a dual-stack socket, trusted IPv4 proxies are also listed as IPv4-mapped addresses', () => {
    expect(forwardedAllowIps(['127.0.0.1', '::1', '*'], '0.0.0.0')).toEqual(['127.0.0.1', '::1', '*']);
    expect(forwardedAllowIps(['127.0.0.1', '::1'], '::')).toEqual(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
  });
});

describe('units', () => {
  it('socket: IPv4 wildcard as written, "::" dual-stack, a specific address with FreeBind', () => {
    expect(listenDirectives('0.0.0.0', 8000)).toBe('# Every IPv4 address (bind "::" for IPv6 and IPv4).\nListenStream=0.0.0.0:8000');
    expect(listenDirectives('::', 8000)).toBe('# Every IPv6 and IPv4 address, on one dual-stack socket.\nListenStream=[::]:8000\nBindIPv6Only=both');
    expect(listenDirectives('10.0.0.5', 80)).toBe('ListenStream=10.0.0.5:80\n# The address may not be configured yet when sockets start at boot.\nFreeBind=yes');
    expect(listenDirectives('2001:db8::5', 80)).toContain('ListenStream=[2001:db8::5]:80\n');
  });

  it('service: timeouts follow the config; stop outlasts the graceful drain', () => {
    const service = renderService(
      resolvedConfig({ preset: 'gunicorn', module: 'a:app', gracefulTimeout: 50 }, { health: { healthyDeadline: '10m', minHealthyTime: '5s' } }),
    );
    expect(service).toContain('\nTimeoutStopSec=60\n');
    expect(service).toContain('\nTimeoutStartSec=630\n');
    expect(service).toContain('\nStartLimitBurst=720\n');
    expect(service).toContain('\nStartLimitIntervalSec=3600\n');
  });

  it.each([
    ['gunicorn', { preset: 'gunicorn', module: 'a:app' }],
    ['node', { preset: 'node', module: 'server.js' }],
    ['command', { preset: 'command', command: './x' }],
  ] as const)('%s: the app has a writable state directory, /var/lib/<app>, kept across releases (ProtectSystem=strict leaves it nothing else)', (_, server) => {
    // A trial's FastAPI app could not open its SQLite file anywhere: only /run/<app>, emptied at every restart, was writable.
    const service = renderService(resolvedConfig(server));
    expect(service).toContain('\nProtectSystem=strict\n');
    expect(service).toContain('\nStateDirectory=hello\nStateDirectoryMode=0750\n');
  });

  it('service: ProtectHome=read-only when the app lives under /home or /root', () => {
    expect(renderService(resolvedConfig({ preset: 'gunicorn', module: 'a:app' }))).toContain('\nProtectHome=yes\n');
    expect(renderService(resolvedConfig({ preset: 'gunicorn', module: 'a:app' }, { deployTo: '/home/deploy/hello' }))).toContain('\nProtectHome=read-only\n');
  });

  it('command: Type=exec unless the command speaks sd_notify', () => {
    expect(renderService(resolvedConfig({ preset: 'command', command: './x' }))).toMatch(/\nType=exec\n/);
    expect(renderService(resolvedConfig({ preset: 'command', command: './x', notify: true }))).toMatch(/\nType=notify\nNotifyAccess=all\n/);
  });

  it('node: the shipped runtime under Type=notify with a watchdog, reloadable, the app and timeouts passed in', () => {
    const service = renderService(resolvedConfig({ preset: 'node', module: 'dist/server.js', workers: 'auto', timeout: 45, gracefulTimeout: 25 }));
    expect(service).toMatch(/\nType=notify\nNotifyAccess=all\n/);
    expect(service).toContain('\nWatchdogSec=45\n');
    expect(service).toContain('\nEnvironment=SHIPIT_APP=dist/server.js PORT=8000 SHIPIT_TIMEOUT=45 SHIPIT_GRACEFUL_TIMEOUT=25 SHIPIT_KEEP_ALIVE=5\n');
    expect(service).toContain("\nExecReload=/bin/sh -c 'exec node .shipit/runtime/reload-wait.js'\n");
    expect(service).toContain('\nTimeoutStopSec=35\n');
    expect(service).toContain("; exec node .shipit/runtime/main.js --name hello'\n");
    expect(service).not.toMatch(/^MemoryDenyWriteExecute=/m);
  });

  it("node: SHIPIT_BOOT_TIMEOUT from health.healthyDeadline, so the runtime's boot failure comes before the deploy's restart limit", () => {
    const service = renderService(resolvedConfig({ preset: 'node', module: 'server.js' }));
    // The default healthyDeadline, 60 s: the restart is cut off at 55 s, a worker that does not serve at 50 s.
    expect(service).toContain('\nEnvironment=SHIPIT_BOOT_TIMEOUT=50.0\n');
    for (const [deadlineMs, boot] of [[1_000, '0.5'], [6_000, '3.3'], [10_000, '5.6'], [20_000, '11.2'], [60_000, '50.0'], [300_000, '290.0']] as const) {
      expect(nodeBootTimeoutSeconds(deadlineMs)).toBe(boot);
      // As the runtime reads it, with the margin the restart also spends stopping the old release and starting node.
      const bootMs = parseRuntimeConfig({ SHIPIT_APP: 'server.js', SHIPIT_BOOT_TIMEOUT: boot }, 1).bootTimeoutMs;
      const restartMs = Number(restartLimitSeconds(deadlineMs)) * 1000;
      expect(bootMs).toBeGreaterThan(0);
      expect(restartMs - bootMs).toBeGreaterThanOrEqual(Math.min(5_000, restartMs / 4) - 100);
    }
  });

  it("node: the runtime's argv has room for its title with the app's name, even the longest (Linux cuts it to the argv)", () => {
    const app = 'app-'.padEnd(64, 'x'); // the longest name the config takes
    const service = renderService(resolvedConfig({ preset: 'node', module: 'server.js' }, { app }));
    const argv = /exec (node [^;']+)'\n/.exec(service)![1]!.split(' ');
    expect(argv).toEqual(['node', '.shipit/runtime/main.js', '--name', app]);
    const room = argv.reduce((bytes, arg) => bytes + arg.length + 1, 0) - 1;
    expect(processTitle({ kind: 'master' }, app).length).toBeLessThanOrEqual(room);
  });

  it('is deterministic', () => {
    const config = resolvedConfig({ preset: 'gunicorn', module: 'a:app' });
    expect(renderUnits(config)).toEqual(renderUnits(config));
  });
});

describe('renderEnvFile', () => {
  it('double-quotes every value, escaping \\ " $ ` (systemd EnvironmentFile and POSIX sh agree on it)', () => {
    expect(
      renderEnvFile({
        PLAIN: 'info',
        SPACES: '  two  spaces  ',
        QUOTES: `say "hi" and 'bye'`,
        DOLLAR: '$HOME ${X} $(id)',
        BACKSLASH: 'C:\\path\\n',
        BACKTICK: '`id`',
        EMPTY: '',
        HASH: '#not a comment; x=1',
        UNICODE: 'héllo ✓',
      }),
    ).toBe(
      [
        '# Written by shipit on every deploy; edits here are replaced. Set values in the shipit config.',
        'BACKSLASH="C:\\\\path\\\\n"',
        'BACKTICK="\\`id\\`"',
        'DOLLAR="\\$HOME \\${X} \\$(id)"',
        'EMPTY=""',
        'HASH="#not a comment; x=1"',
        'PLAIN="info"',
        `QUOTES="say \\"hi\\" and 'bye'"`,
        'SPACES="  two  spaces  "',
        'UNICODE="héllo ✓"',
        '',
      ].join('\n'),
    );
  });

  it('round-trips through POSIX sh, which parses double quotes as systemd does', async () => {
    const { execFileSync } = await import('node:child_process');
    const vars = { A: `a "b" $c \\d \`e\` 'f' %h  `, B: '\\', C: '\\"', D: '$' };
    const file = renderEnvFile(vars);
    const script = `${file}\nprintf '%s\\0' "$A" "$B" "$C" "$D"`;
    expect(execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' }).split('\0').slice(0, 4)).toEqual(Object.values(vars));
  });

  it('rejects newlines and bad names without printing the value', () => {
    const secret = 'line1\nline2-secret';
    let message = '';
    try {
      renderEnvFile({ KEY: secret });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('the value of KEY contains a newline or control character, which an EnvironmentFile cannot hold');
    expect(() => renderEnvFile({ 'A-B': 'x' })).toThrow('"A-B" is not a valid environment variable name');
    expect(renderEnvFile({})).toBe('# Written by shipit on every deploy; edits here are replaced. Set values in the shipit config.\n');
  });
});
