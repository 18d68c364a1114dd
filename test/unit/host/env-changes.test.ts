// Which env and secret names a deploy would change: the pure comparison (MemoryHost's), and envChangesScript run
// for real by /bin/sh and this machine's awk on a layout under a temporary directory, which must agree with it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryHost } from '../../../src/host/memory-host.js';
import { FakeClock } from '../../../src/lib/fake-clock.js';
import { releaseSpec } from '../../rollout/fleet.js';
import { diffEnvFiles, envChangesInput, parseEnvChanges } from '../../../src/host/env-changes.js';
import { envChangesScript } from '../../../src/remote/scripts.js';
import { renderEnvFile } from '../../../src/units/env-file.js';

const installed = { env: renderEnvFile({ LOG_LEVEL: 'info', OLD_FLAG: 'on', SAME: 'x' }), secrets: renderEnvFile({ DATABASE_URL: 'postgres://u:old-pass@db/app', API_TOKEN: 'tok-unchanged-1' }) };
const desired = {
  env: renderEnvFile({ LOG_LEVEL: 'debug', SAME: 'x', NEW_FLAG: '1' }),
  secrets: renderEnvFile({ DATABASE_URL: 'postgres://u:new-pass@db/app', API_TOKEN: 'tok-unchanged-1', STRIPE_KEY: 'sk_live_abcdefgh' }),
};
const EXPECTED = [
  { file: 'env', name: 'LOG_LEVEL', change: 'changed' },
  { file: 'env', name: 'NEW_FLAG', change: 'added' },
  { file: 'env', name: 'OLD_FLAG', change: 'removed' },
  { file: 'secrets', name: 'DATABASE_URL', change: 'changed' },
  { file: 'secrets', name: 'STRIPE_KEY', change: 'added' },
];

describe('env changes (names only)', () => {
  it('lists each variable added, changed or removed per file; unchanged ones and the header are not listed', () => {
    expect(diffEnvFiles(installed, desired)).toEqual(EXPECTED);
    expect(diffEnvFiles(desired, desired)).toEqual([]);
    // A host never deployed to: everything is added.
    expect(diffEnvFiles(null, { env: renderEnvFile({ A: '1' }), secrets: renderEnvFile({ B: 'bbbbbbbb' }) })).toEqual([
      { file: 'env', name: 'A', change: 'added' },
      { file: 'secrets', name: 'B', change: 'added' },
    ]);
    // Moved from env to secrets: removed from one, added to the other.
    expect(diffEnvFiles({ env: 'TOKEN="t0k3n-value"\n', secrets: '' }, { env: '', secrets: 'TOKEN="t0k3n-value"\n' })).toEqual([
      { file: 'env', name: 'TOKEN', change: 'removed' },
      { file: 'secrets', name: 'TOKEN', change: 'added' },
    ]);
  });

  it('is computed on the host by one awk that prints names only, and agrees with the pure comparison', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-env-'));
    try {
      const layout = { deployTo: join(root, 'srv'), app: 'demo', serviceUser: 'demo' };
      const onHost = (input: string) => {
        const r = spawnSync('sh', ['-c', envChangesScript(layout)], { input });
        expect(r.stderr.toString()).toBe('');
        expect(r.status).toBe(0);
        return r.stdout.toString();
      };
      // Nothing there yet: every variable is added.
      expect(parseEnvChanges(onHost(envChangesInput(desired)))).toEqual(diffEnvFiles(null, desired));
      mkdirSync(join(root, 'srv/shared'), { recursive: true });
      writeFileSync(join(root, 'srv/shared/env'), installed.env);
      writeFileSync(join(root, 'srv/shared/secrets.env'), installed.secrets);
      const out = onHost(envChangesInput(desired));
      expect(parseEnvChanges(out)).toEqual(EXPECTED);
      // What comes back carries no value, no length, nothing derived from one: exactly the tagged names.
      expect(out.split('\n').filter(Boolean).sort()).toEqual(['env\tadded\te NEW_FLAG', 'env\tchanged\te LOG_LEVEL', 'env\tchanged\ts DATABASE_URL', 'env\tremoved\te OLD_FLAG', 'env\tadded\ts STRIPE_KEY'].sort());
      expect(onHost(envChangesInput(installed))).toBe('');
      // Values with the characters the env file escapes compare as written.
      const tricky = { env: '', secrets: renderEnvFile({ P: 'pa"ss$wo\\rd `x` = y' }) };
      writeFileSync(join(root, 'srv/shared/secrets.env'), tricky.secrets);
      writeFileSync(join(root, 'srv/shared/env'), '');
      expect(onHost(envChangesInput(tricky))).toBe('');
      expect(parseEnvChanges(onHost(envChangesInput({ env: '', secrets: renderEnvFile({ P: 'pa"ss$wo\\rd `x` = z' }) })))).toEqual([{ file: 'secrets', name: 'P', change: 'changed' }]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('MemoryHost compares with the env of the release it activated last, as shared/ holds it', async () => {
    const host = new MemoryHost('web1', new FakeClock());
    const query = { units: [], env: desired };
    expect((await host.installed(query)).env).toEqual(diffEnvFiles(null, desired));
    await host.prepare({ ...releaseSpec('r1'), ...installed });
    // Staged is not installed: shared/ changes at activation.
    expect((await host.installed(query)).env).toEqual(diffEnvFiles(null, desired));
    await host.activate('r1', { timeoutMs: 1000 });
    expect((await host.installed(query)).env).toEqual(EXPECTED);
    expect((await host.installed({ units: [] })).env).toEqual([]);
  });
});
