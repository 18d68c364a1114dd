// The rendered units checked by systemd itself (systemd 252 on Debian 12):
// - `systemd-analyze security --offline=true --threshold=20`: the exposure score must stay ≤ 2.0 (it is 1.2);
//   a dropped hardening directive fails here.
// - `systemd-analyze verify`: syntax, unknown directives, the ExecStart binary, the socket/service pair.
// Offline mode reads the unit from a file that must carry the unit's name, hence a directory per case.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderUnits } from '../../../src/units/render.js';
import { GOLDEN_CASES } from './fixtures.js';

const THRESHOLD = 20; // tenths: 2.0

function systemdAnalyze(args: string[], cwd: string) {
  const result = spawnSync('systemd-analyze', args, { cwd, encoding: 'utf8', env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' } });
  if (result.error) throw new Error(`systemd-analyze is needed for these tests (Debian: apt-get install systemd): ${result.error.message}`);
  return result;
}

let dir: string;
beforeAll(() => {
  execFileSync('systemd-analyze', ['--version']);
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipit-units-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.each(Object.entries(GOLDEN_CASES))('systemd-analyze: %s', (_name, config) => {
  function writeUnits(): string[] {
    return renderUnits(config).map((unit) => {
      writeFileSync(join(dir, unit.name), unit.content);
      return unit.name;
    });
  }

  it(`scores at most ${THRESHOLD / 10} with security --offline=true`, () => {
    writeUnits();
    const result = systemdAnalyze(['security', '--offline=true', `--threshold=${THRESHOLD}`, '--no-pager', 'hello.service'], dir);
    const score = /Overall exposure level for hello\.service: (\d+\.\d)/.exec(result.stdout)?.[1];
    expect({ status: result.status, score: Number(score) }).toEqual({ status: 0, score: expect.any(Number) });
    expect(Number(score)).toBeLessThanOrEqual(THRESHOLD / 10);
  });

  it('passes systemd-analyze verify without a warning', () => {
    const names = writeUnits();
    const result = systemdAnalyze(['verify', '--man=no', ...names], dir);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });
});

it('security --offline fails once hardening is removed (the gate works)', () => {
  const service = renderUnits(GOLDEN_CASES['gunicorn-auto']!).find((unit) => unit.name === 'hello.service')!;
  writeFileSync(join(dir, 'hello.service'), service.content.replace(/^(PrivateUsers|ProtectSystem|SystemCallFilter|CapabilityBoundingSet|PrivateDevices|ProtectKernel\w+|RestrictNamespaces)=.*$/gm, ''));
  const result = systemdAnalyze(['security', '--offline=true', `--threshold=${THRESHOLD}`, '--no-pager', 'hello.service'], dir);
  expect(result.status).not.toBe(0);
});
