import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { buildProgram, report } from '../../../src/cli/main.js';

/**
 * Only deploy and plan send secrets to the hosts. An operator without the deploy's secrets in the environment
 * (`ORDERS_API_TOKEN: process.env.ORDERS_API_TOKEN`, not exported on the on-call laptop) must still be able to
 * look (status, logs, releases, lock, units), to roll back (a release runs with the secrets it was deployed
 * with) and to remove the app (nothing is sent). Before, every one of them failed with exit 2: "server.secrets.ORDERS_API_TOKEN: is not set".
 * The host is a closed local port: past the config, each command fails connecting (exit 3), not on the config.
 */
const dir = mkdtempSync(join(tmpdir(), 'shipit-secrets-optional-'));
const configFile = join(dir, 'deploy.config.mjs');
writeFileSync(join(dir, 'known_hosts'), '');
writeFileSync(join(dir, 'app.js'), 'export function handler() {}\n');
writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
writeFileSync(
  configFile,
  `export default {
  app: 'orders',
  build: { dir: '.' },
  server: { preset: 'node', module: 'app.js', port: 8000, secrets: { ORDERS_API_TOKEN: process.env.SHIPIT_TEST_UNSET_TOKEN } },
  ssh: { knownHostsFile: '${join(dir, 'known_hosts')}', configFile: 'none', agent: false, connectTimeout: '2s' },
  environments: { production: { hosts: ['deploy@127.0.0.1:1'] } },
};
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const program = buildProgram().exitOverride();
    const error = await program.parseAsync(['node', 'shipit', ...argv, '-c', configFile]).then(() => undefined, (e: unknown) => e);
    const code = error === undefined ? 0 : report(error, (text) => (stderr += text));
    return { code, stderr };
  } finally {
    write.mockRestore();
    out.mockRestore();
  }
}

describe('secrets are needed only by the commands that send them', () => {
  delete process.env['SHIPIT_TEST_UNSET_TOKEN'];

  it.each(['status', 'releases', 'logs -n 5', 'lock status', 'rollback', 'remove', 'remove --yes'])('`%s` runs without them (the host is what fails, exit 3)', async (command) => {
    const { code, stderr } = await run(...command.split(' '), 'production');
    expect(stderr).not.toContain('invalid configuration');
    expect(code).toBe(3);
  });

  it('units renders without them', async () => {
    expect(await run('units', 'production')).toEqual({ code: 0, stderr: '' });
  });

  it('logs and rollback say which secrets they cannot redact', async () => {
    for (const command of [['logs'], ['rollback']]) {
      const { stderr } = await run(...command, 'production');
      expect(stderr).toContain('note: server.secrets.ORDERS_API_TOKEN is not set here (not needed for this command), so its value cannot be redacted from what the hosts print');
    }
  });

  it('deploy and plan still refuse, naming the variable to export', async () => {
    for (const command of ['deploy', 'plan']) {
      const { code, stderr } = await run(command, 'production');
      expect(code).toBe(2);
      expect(stderr).toContain('server.secrets.ORDERS_API_TOKEN: is not set');
    }
  });
});
