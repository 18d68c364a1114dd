import { describeLeftOut } from '../../../src/cli/render/left-out.js';

describe('describeLeftOut: what of build.dir a deploy or plan says stayed home, and why', () => {
  it('names the paths per reason, git first, and counts past five', () => {
    const line = describeLeftOut([
      { path: '.git/', reason: 'shipit' },
      { path: '.env', reason: 'build.exclude' },
      ...['.venv/', 'a.pem', 'b.pem', 'dist/', 'node_modules/', 'secrets.json', 'tmp/'].map((path) => ({ path, reason: 'git' as const })),
    ]);
    expect(line).toBe(
      'left out of build.dir: .venv/, a.pem, b.pem, dist/, node_modules/, and 2 more (ignored by git); .env (build.exclude); .git/ (never shipped)',
    );
  });

  it('says nothing when everything shipped', () => {
    expect(describeLeftOut([])).toBeUndefined();
  });
});
