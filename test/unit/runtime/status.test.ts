import { renderStatus, type StatusInput } from '../../../src/runtime/status.js';

const base: StatusInput = { phase: 'running', workers: 4, serving: 4, alive: 4, reloadReplaced: undefined, haltMessage: undefined, note: undefined };

describe('renderStatus', () => {
  it.each<[Partial<StatusInput>, string]>([
    [{ phase: 'starting', serving: 1 }, 'starting: 1 of 4 workers serving'],
    [{}, '4 workers serving'],
    [{ workers: 1, serving: 1 }, '1 worker serving'],
    [{ serving: 3 }, '3 of 4 workers serving'],
    [{ serving: 5, reloadReplaced: 1 }, 'reloading: 1 of 4 replaced; 5 workers serving'],
    [{ note: 'reload failed: boom' }, '4 workers serving; reload failed: boom'],
    [{ phase: 'stopping', alive: 2 }, 'stopping: draining 2 workers'],
    [{ phase: 'stopping', alive: 1, haltMessage: 'worker failed to boot: x' }, 'worker failed to boot: x; draining 1 worker'],
  ])('%j → %s', (input, expected) => {
    expect(renderStatus({ ...base, ...input })).toBe(expected);
  });

  it('never contains a newline (it would start a new KEY=VALUE pair)', () => {
    expect(renderStatus({ ...base, note: 'reload failed: a\nREADY=1' })).toBe('4 workers serving; reload failed: a READY=1');
  });
});
