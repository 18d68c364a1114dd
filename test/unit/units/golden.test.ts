// Golden files: the exact units shipit installs. Review a diff here like a change to production config.
// Regenerate after an intended change: SHIPIT_UPDATE_GOLDEN=1 npm run test:unit -- test/unit/units/golden.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderUnits } from '../../../src/units/render.js';
import { GOLDEN_CASES } from './fixtures.js';

const goldenDir = fileURLToPath(new URL('./golden/', import.meta.url));

describe.each(Object.entries(GOLDEN_CASES))('golden units: %s', (name, config) => {
  const units = renderUnits(config);

  it('renders <app>.socket and <app>.service', () => {
    expect(units.map((unit) => unit.name)).toEqual(['hello.socket', 'hello.service']);
  });

  it.each(['socket', 'service'])('matches golden/%s', (kind) => {
    const unit = units.find((u) => u.name.endsWith(`.${kind}`))!;
    const file = `${goldenDir}${name}.${kind}`;
    if (process.env['SHIPIT_UPDATE_GOLDEN'] === '1') writeFileSync(file, unit.content);
    expect(unit.content).toBe(readFileSync(file, 'utf8'));
  });
});
