import { buildProgram } from '../../../src/cli/main.js';
import type { FleetReleaseState } from '../../../src/rollout/releases.js';

/**
 * `shipit releases --help` names the states the table can show (a trial found `interrupted`, which the README's
 * table lists, missing from it). A Record over the type: a new state fails the typecheck until it is listed here.
 */
const STATES: Record<FleetReleaseState, true> = { current: true, good: true, bad: true, interrupted: true, partial: true };

describe('shipit releases --help', () => {
  it('lists every release state the command prints', () => {
    const releases = buildProgram().commands.find((command) => command.name() === 'releases');
    expect(releases).toBeDefined();
    const listed = /state \(([a-z/]+)\)/.exec(releases!.description())?.[1]?.split('/');
    expect(listed?.sort()).toEqual(Object.keys(STATES).sort());
  });
});
