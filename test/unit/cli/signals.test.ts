import { MovedHosts, trapSignals } from '../../../src/cli/session.js';

describe('MovedHosts: which hosts a forced quit leaves off the release they ran', () => {
  it('counts a host from its activation until it is back, by a revert or ready on what it ran', () => {
    const moved = new MovedHosts();
    moved.observe({ type: 'host.activating', host: 'web1', release: 'B', previous: 'A' });
    moved.observe({ type: 'host.activating', host: 'web2', release: 'B', previous: null });
    expect(moved.describe()).toEqual(['web1 (ran A, moving to B)', 'web2 (ran nothing, moving to B)']);
    moved.observe({ type: 'host.ready', host: 'web1', release: 'B', durationMs: 1 }); // still off what it ran
    moved.observe({ type: 'host.activating', host: 'web1', release: 'A', previous: 'B' }); // the revert begins
    expect(moved.describe()).toEqual(['web1 (ran A, moving to A)', 'web2 (ran nothing, moving to B)']);
    moved.observe({ type: 'host.ready', host: 'web1', release: 'A', durationMs: 1 });
    moved.observe({ type: 'host.reverted', host: 'web2', release: null });
    expect(moved.describe()).toEqual([]);
  });
});

describe('trapSignals', () => {
  const trap = (moved: string[]) => {
    const said: string[] = [];
    const exits: number[] = [];
    const abort = new AbortController();
    const untrap = trapSignals(abort, (line) => said.push(line), () => moved, (code) => exits.push(code));
    const press = () => process.emit('SIGINT', 'SIGINT');
    return { said, exits, abort, untrap, press };
  };

  it('aborts on the first Ctrl-C, warns on the second, exits 130 on the third when no host was moved', () => {
    const t = trap([]);
    try {
      t.press();
      expect(t.abort.signal.aborted).toBe(true);
      expect(t.exits).toEqual([]);
      t.press();
      expect(t.said[1]).toMatch(/one more Ctrl-C quits now/);
      t.press();
      expect(t.exits).toEqual([130]);
    } finally {
      t.untrap();
    }
  });

  it('exits 6 naming the hosts left moved when the third Ctrl-C comes mid-rollout (130 says nothing was touched)', () => {
    const t = trap(['web1 (ran A, moving to A)']);
    try {
      t.press();
      t.press();
      t.press();
      expect(t.exits).toEqual([6]);
      expect(t.said.join('\n')).toMatch(/may be inconsistent; not restored: web1 \(ran A, moving to A\)/);
      expect(t.said.join('\n')).toMatch(/shipit status/);
    } finally {
      t.untrap();
    }
  });
});
