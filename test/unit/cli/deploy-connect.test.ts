// `shipit deploy` connects to the hosts while the release is built (SSH handshakes change nothing on a host),
// and runs nothing on any host until the build has succeeded. Against a throwaway sshd on loopback that runs
// only the connection check (`true`); any other command leaves a mark and fails (ForceCommand), so that a
// deploy that gets as far as the lock is seen.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { deployCommand } from '../../../src/cli/commands/deploy.js';
import { ShipitError } from '../../../src/lib/errors.js';
import { makeTempDir } from '../ssh/support/keygen.js';
import { startSshd, type TestSshd } from '../ssh/support/sshd.js';

let sshd: TestSshd;
let work: { dir: string; cleanup: () => void };
let marker: string;
const cacheEnv = process.env['SHIPIT_CACHE_DIR'];

beforeAll(async () => {
  work = makeTempDir('shipit-deploy-connect-');
  process.env['SHIPIT_CACHE_DIR'] = join(work.dir, 'cache'); // the hash cache, not the user's
  marker = join(work.dir, 'a-command-ran');
  const only = join(work.dir, 'only-true.sh');
  writeFileSync(only, `#!/bin/sh\ncase "$SSH_ORIGINAL_COMMAND" in *" shipit true" | *" shipit 'true'") exec sh -c "$SSH_ORIGINAL_COMMAND" ;; esac\ntouch ${marker}\nexit 1\n`);
  chmodSync(only, 0o755);
  sshd = await startSshd({ extraConfig: [`ForceCommand ${only}`] });
}, 30_000);
afterAll(async () => {
  if (cacheEnv === undefined) delete process.env['SHIPIT_CACHE_DIR'];
  else process.env['SHIPIT_CACHE_DIR'] = cacheEnv;
  await sshd.stop();
  work.cleanup();
});

/** Our established TCP connections to the sshd (from /proc/net/tcp: remote port, state 01). */
function connectionsToSshd(): number {
  const port = sshd.port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => {
      const [, , remote, state] = line.trim().split(/\s+/);
      return remote?.endsWith(`:${port}`) && state === '01';
    }).length;
}

function project(name: string, buildCommand: string): string {
  const dir = join(work.dir, name);
  mkdirSync(join(dir, 'dist'), { recursive: true });
  writeFileSync(join(dir, 'dist/app.py'), 'app = None\n');
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine(sshd.hostKeys.ed25519)}\n`);
  const config = {
    app: 'overlap',
    build: { command: buildCommand, dir: 'dist' },
    server: { preset: 'gunicorn', module: 'app:app' },
    ssh: { knownHostsFile: knownHosts, identityFiles: [sshd.clientKey.path], agent: false, configFile: 'none' },
    environments: { test: { hosts: [{ host: '127.0.0.1', port: sshd.port, user: userInfo().username, name: 'local' }] } },
  };
  writeFileSync(join(dir, '.shipitrc.json'), JSON.stringify(config));
  return join(dir, '.shipitrc.json');
}

/** Runs the deploy with --json, its lines kept from the test output. */
async function deployError(config: string): Promise<{ error: ShipitError; events: { type: string; phase?: string }[] }> {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => lines.push(String(chunk)) > 0) as typeof process.stdout.write;
  try {
    const error = await deployCommand('test', { config, json: true }).then(() => null, (e: unknown) => e);
    if (!(error instanceof ShipitError)) throw new Error(`expected a ShipitError, got ${String(error)}`);
    return { error, events: lines.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; phase?: string }) };
  } finally {
    process.stdout.write = write;
  }
}

describe('deploy: connections and the build', () => {
  it('connects while the build runs; a failed build closes the connections and runs nothing on any host', async () => {
    const config = project('failing', 'sleep 1.5; echo "compile error" >&2; exit 3');
    let sawConnection = false;
    const poll = setInterval(() => (sawConnection ||= connectionsToSshd() > 0), 50);
    const { error, events } = await deployError(config).finally(() => clearInterval(poll));
    expect(error.code).toBe('BUILD_FAILED');
    expect(error.message).toMatch(/exit 3\):\ncompile error$/);
    expect(sawConnection).toBe(true);
    expect(connectionsToSshd()).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(events.map((e) => `${e.type} ${e.phase ?? ''}`.trim())).toEqual(['phase.started build']);
  }, 20_000);

  it('after a build that succeeds, the deploy goes on to the hosts (the mark above would have been seen)', async () => {
    const config = project('passing', 'true');
    const { error, events } = await deployError(config);
    expect(error.code).toBe('REMOTE_FAILED');
    expect(existsSync(marker)).toBe(true);
    expect(connectionsToSshd()).toBe(0);
    expect(events.map((e) => `${e.type} ${e.phase ?? ''}`.trim()).slice(0, 5)).toEqual([
      'phase.started build',
      'phase.finished build',
      'phase.started connect',
      'phase.finished connect',
      'phase.started lock',
    ]);
  }, 20_000);
});
