import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// STYLE.md's pipeline: rollout/ and cli/ drive host/, build/ and remote/, never the other way round (the pieces a
// host-facing module needs, such as what is said about another environment's units, live beside it).
describe('layering', () => {
  it.each(['host', 'build', 'remote'])('src/%s imports nothing from src/rollout or src/cli', (layer) => {
    const dir = join('src', layer);
    const upward = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) =>
        [...readFileSync(join(dir, file), 'utf8').matchAll(/^(?:import|export)\b[^;]*? from '((?:\.\.\/)+(?:rollout|cli)\/[^']*)'/gm)].map((m) => `${layer}/${file}: ${m[1]}`),
      );
    expect(upward).toEqual([]);
  });
});
