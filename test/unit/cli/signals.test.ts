import type { ResolvedConfig } from '../../../src/config/types.js';
import { REMOVING } from '../../../src/cli/commands/remove.js';
import { MovedHosts, runFleetOperation, trapSignals } from '../../../src/cli/session.js';
import { ShipitError } from '../../../src/lib/errors.js';
import type { FleetContext } from '../../../src/rollout/deploy.js';

describe('MovedHosts: which hosts a forced quit leaves off the release they ran', () => {
  it('counts a host from its activation until it is back, by a revert or ready on what it ran', () => {
    const moved = new MovedHosts();
    moved.observe({ type: 'host.activating', host: 'web1', release: 'B', previous: 'A' });
    moved.observe({ type: 'host.activating', host: 'web2', release: 'B', previous: null });
    expect(moved.describe()).toEqual(['web1 (ran A, moving to B)', 'web2 (ran no release, moving to B)']);
    moved.observe({ type: 'host.ready', host: 'web1', release: 'B', durationMs: 1 }); // still off what it ran
    moved.observe({ type: 'host.activating', host: 'web1', release: 'A', previous: 'B' }); // the revert begins
    expect(moved.describe()).toEqual(['web1 (ran A, moving to A)', 'web2 (ran no release, moving to B)']);
    moved.observe({ type: 'host.ready', host: 'web1', release: 'A', durationMs: 1 });
    moved.observe({ type: 'host.activating', host: 'web2', release: null, previous: 'B' }); // its revert: stopped
    expect(moved.describe()).toEqual(['web2 (ran no release, being stopped)']);
    moved.observe({ type: 'host.reverted', host: 'web2', release: null });
    expect(moved.describe()).toEqual([]);
  });
});

describe('trapSignals', () => {
  const trap = (moved: string[]) => {
    const said: string[] = [];
    const exits: number[] = [];
    const abort = new AbortController();
    const untrap = trapSignals(abort, 'production', (line) => said.push(line), { moved: () => moved, exit: (code) => exits.push(code) });
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
      expect(t.said.at(-1)).toBe('hint: run `shipit status production` to see where every host is, then `shipit rollback production` (the lock is stale once this process is gone)');
    } finally {
      t.untrap();
    }
  });
});

describe('trapSignals for shipit remove (REMOVING)', () => {
  const trap = (running: string[]) => {
    const said: string[] = [];
    const exits: number[] = [];
    const abort = new AbortController();
    const untrap = trapSignals(abort, 'production', (line) => said.push(line), { moved: () => running, exit: (code) => exits.push(code), words: REMOVING });
    return { said, exits, abort, untrap, press: () => process.emit('SIGINT', 'SIGINT') };
  };

  it('the first Ctrl-C stops sending removals; a third with a removal still running exits 6 naming that host', () => {
    const t = trap(['web2 (removal running)']);
    try {
      t.press();
      expect(t.abort.signal.aborted).toBe(true);
      expect(t.said[0]).toBe('SIGINT: stopping: no removal is sent from now on; those already sent finish, then the lock is released (Ctrl-C twice more to quit at once)');
      t.press();
      t.press();
      expect(t.exits).toEqual([6]);
      expect(t.said.slice(2)).toEqual([
        'quit: not known whether the app was removed from web2 (removal running); the deploy lock may stay held there',
        'hint: run `shipit remove production --yes` again: it finishes the job (the lock is stale once this process is gone)',
      ]);
    } finally {
      t.untrap();
    }
  });

  it('a third Ctrl-C with no removal running exits 130, as a deploy does', () => {
    const t = trap([]);
    try {
      t.press();
      t.press();
      t.press();
      expect(t.exits).toEqual([130]);
    } finally {
      t.untrap();
    }
  });
});

describe('runFleetOperation when Ctrl-C cuts a step off', () => {
  const renderer = { showsEvents: false, emit: () => {}, info: () => {}, close: async () => {} };
  const run = async (operation: (ctx: FleetContext, abort: AbortController) => Promise<never>) => {
    const abort = new AbortController();
    const pending = { abort, hosts: Promise.resolve(new Map()), close: async () => {} };
    return runFleetOperation({} as ResolvedConfig, {} as never, null, (ctx) => operation(ctx, abort), renderer, pending as never).then(
      () => null,
      (e: unknown) => e as ShipitError,
    );
  };
  const cutOff = () => new ShipitError('ABORTED', "Aborted `sudo -n sh -c 'set -u D=/srv/app ...'` on web1");

  it('before any host moved (connect, lock): exit 130 in the operator\'s words, not the aborted script', async () => {
    const error = await run(async (_ctx, abort) => {
      abort.abort(new ShipitError('ABORTED', 'interrupted by SIGINT'));
      throw cutOff();
    });
    expect(error?.exitCode).toBe(130);
    expect(error?.message).toBe('interrupted by SIGINT before any host was switched: nothing changed on the hosts (what was staged was removed, the lock released)');
  });

  it('once a host moved, or without an interruption, the error is left as it is', async () => {
    const moved = await run(async (ctx, abort) => {
      ctx.emit({ type: 'host.activating', host: 'web1', release: 'B', previous: 'A' });
      abort.abort(new ShipitError('ABORTED', 'interrupted by SIGINT'));
      throw cutOff();
    });
    expect(moved?.message).toMatch(/^Aborted `sudo/);
    const plain = await run(async () => {
      throw cutOff();
    });
    expect(plain?.message).toMatch(/^Aborted `sudo/);
  });
});
