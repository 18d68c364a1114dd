import { buildProgram, report } from '../../../src/cli/main.js';
import { finish } from '../../../src/cli/session.js';
import type { Renderer } from '../../../src/cli/render/renderer.js';
import { ShipitError } from '../../../src/lib/errors.js';
import { deploy } from '../../../src/rollout/deploy.js';
import { prerequisites } from '../../../src/build/release.js';
import { rollback } from '../../../src/rollout/rollback.js';
import { lockInfo, makeFleet, releaseSpec, seed } from '../../rollout/fleet.js';

/**
 * The documented exit codes, end to end through the CLI's own mapping (finish → report), on the in-memory
 * fleet: each code from the situation that produces it. The lab e2e tests provoke the same ones for real.
 */
const OLD = '20261124T100000Z';
const NEW = '20261125T130000Z';
const silent: Renderer = { showsEvents: false, emit: () => {}, info: () => {}, close: async () => {} };
const exitOf = (error: unknown) => report(error, () => {});

async function deployExit(prepare: (fleet: ReturnType<typeof makeFleet>) => void): Promise<{ code: number; message: string; hint?: string }> {
  const fleet = makeFleet(3);
  seed(fleet, OLD);
  prepare(fleet);
  try {
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    finish(outcome, 'deploy', 'production', silent);
    return { code: 0, message: '' };
  } catch (error) {
    return { code: exitOf(error), message: (error as Error).message, hint: (error as ShipitError).hint };
  }
}

describe('exit codes', () => {
  it('0: success', async () => expect((await deployExit(() => {})).code).toBe(0));

  it('6: a host lost after its switch is named on the release it was moved to (marked unsure), not the one it left', async () => {
    const lostAfterSwitch = await deployExit((fleet) => {
      fleet.host('web2').faults.dropAfterSwitchTo = NEW;
    });
    expect(lostAfterSwitch.code).toBe(6);
    expect(lostAfterSwitch.message).toContain(`hosts not restored: web2; now: web1=${OLD} web2=${NEW} web3=${OLD}\n`.trimEnd());
    const lostInSwitch = await deployExit((fleet) => void (fleet.host('web2').faults.dropOnActivate = true));
    expect(lostInSwitch.code).toBe(6);
    expect(lostInSwitch.message).toMatch(new RegExp(`now: web1=${OLD} web2=${NEW}\\? web3=${OLD} \\(\\?: its switch to that release failed or was cut off, so not known; \`shipit status production\` reads it`));
  });

  it("2: a host whose units serve another environment's deployTo (two environments of one app): nothing was switched", async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    fleet.host('web2').unitsElsewhere = { deployTo: '/srv/hello-production', port: '8000' };
    // The release's real prerequisites: the in-memory host fails the one that is a conflict, with its message.
    const outcome = await deploy(fleet.ctx(), { ...releaseSpec(NEW), prerequisites: prerequisites(fleet.config) });
    const error = (() => {
      try {
        finish(outcome, 'deploy', 'production', silent);
      } catch (e) {
        return e as ShipitError;
      }
      throw new Error('finished');
    })();
    expect(exitOf(error)).toBe(2);
    expect(error.message).toContain(`prepare failed: web2: ${fleet.config.app}.service and ${fleet.config.app}.socket on this host serve /srv/hello-production (port 8000)`);
    expect(error.message).toContain(`nothing was switched: every host still runs ${OLD}`);
    for (const host of fleet.hosts.values()) expect(host.current).toBe(OLD);
  });

  it('1: a dependency missing from node_modules says so and names `npm ci`; a missing file of our own stays unexpected', () => {
    const missing = (code: string, message: string) => Object.assign(new Error(message), { code });
    let text = '';
    expect(report(missing('MODULE_NOT_FOUND', "Cannot find module 'ssh2'\nRequire stack:\n- /x/dist/shipit.cjs"), (t) => (text += t))).toBe(1);
    expect(text).toBe("error: shipit's dependencies are incomplete (Cannot find module 'ssh2')\nhint: run `npm ci` in the shipit package, or reinstall it\n");
    text = '';
    expect(report(missing('ERR_MODULE_NOT_FOUND', "Cannot find module '/x/dist/src/cli/commands/deploy.js' imported from /x/main.js"), (t) => (text += t))).toBe(1);
    expect(text).toMatch(/^unexpected error: Error: Cannot find module '\/x\/dist/);
  });

  it('2: usage errors from the command line (missing <env>, unknown option)', async () => {
    for (const argv of [['deploy'], ['status', 'production', '--no-such-flag']]) {
      const program = buildProgram().configureOutput({ writeErr: () => {}, writeOut: () => {} });
      for (const command of program.commands) command.configureOutput({ writeErr: () => {}, writeOut: () => {} });
      const error = await program.parseAsync(['node', 'shipit', ...argv]).catch((e: unknown) => e);
      expect(exitOf(error)).toBe(2);
    }
  });

  it('0 for --help and --version', async () => {
    for (const argv of [['--help'], ['--version'], ['logs', '--help']]) {
      const program = buildProgram().configureOutput({ writeErr: () => {}, writeOut: () => {} });
      for (const command of program.commands) command.configureOutput({ writeErr: () => {}, writeOut: () => {} });
      const error = await program.parseAsync(['node', 'shipit', ...argv]).catch((e: unknown) => e);
      expect(exitOf(error)).toBe(0);
    }
  });

  it('3: a host that cannot be reached', () => expect(exitOf(new ShipitError('CONNECT_FAILED', 'web1: connection lost'))).toBe(3));

  it('4: the lock is held (by a manual `shipit lock acquire`)', async () => {
    const result = await deployExit((fleet) => void (fleet.host('web2').lockInfo = { ...lockInfo('tok-manual', 'bob@laptop'), pid: 0 }));
    expect(result).toEqual({
      code: 4,
      message: 'web2: deploy lock held by bob@laptop (by hand) since 2026-11-25T13:00:00Z',
      // The environment is named: the commands can be pasted as they are.
      hint:
        'it was taken by hand (`shipit lock acquire`): ask bob@laptop to release it with `shipit lock release production`, ' +
        'or, if it is abandoned, `shipit lock release production --force`; see `shipit lock status production`',
    });
  });

  it('5: the release fails its gate and every host is back on the release it ran before', async () => {
    const result = await deployExit((fleet) => (fleet.host('web2').faults.neverReady = new Set([NEW])));
    expect(result.code).toBe(5);
    expect(result.message).toMatch(/every host is back on the release it ran before: web1=20261124T100000Z web2=20261124T100000Z web3=20261124T100000Z/);
  });

  it('5 when prepare fails: nothing was switched, which the message says instead of "back on" (nothing moved)', async () => {
    const prepareFails = (fleet: ReturnType<typeof makeFleet>) => {
      for (const name of ['web1', 'web2', 'web3']) fleet.host(name).faults.prepareFails = 'port 8000 is already in use on this host by api.socket';
    };
    const redeploy = await deployExit(prepareFails);
    expect(redeploy.code).toBe(5);
    expect(redeploy.message).toMatch(/\nnothing was switched: every host still runs 20261124T100000Z$/);
    // A first deploy: there is no release to name, and "(nothing)" read as if the hosts had been emptied.
    const first = await deployExit((fleet) => {
      for (const name of ['web1', 'web2', 'web3']) fleet.host(name).current = null;
      prepareFails(fleet);
    });
    expect(first.code).toBe(5);
    expect(first.message).toMatch(/\nnothing was switched: no host runs a release yet; what this run created on the hosts that held no release of the app \(deployTo, the service user\) was removed/);
  });

  it('5 after Ctrl-C: the hint is the rollback command for this environment and release, ready to paste', () => {
    const outcome: Parameters<typeof finish>[0] = {
      result: 'failed-restored', release: NEW, failure: 'interrupted by SIGINT', failedOn: [], hosts: { web1: OLD },
      unrestored: [], durations: { rollout: 1 }, prepared: {}, interrupted: true,
    };
    const error = catchFinish(outcome) as ShipitError;
    expect(exitOf(error)).toBe(5);
    expect(error.hint).toBe(`the release is marked interrupted (not bad): deploy again, or \`shipit rollback production --to ${NEW}\``);
  });

  it('5 after Ctrl-C during a rollback: its target is not called interrupted (it keeps its state); the hint tries it again', () => {
    const outcome: Parameters<typeof finish>[0] = {
      result: 'failed-restored', release: OLD, failure: 'interrupted by SIGINT', failedOn: [], hosts: { web1: NEW },
      unrestored: [], durations: { rollout: 1 }, prepared: {}, interrupted: true,
    };
    const error = catchFinish(outcome, 'rollback') as ShipitError;
    expect(exitOf(error)).toBe(5);
    expect(error.message).toBe(`rollback to ${OLD} failed: interrupted by SIGINT\nevery host is back on the release it ran before: web1=${NEW}`);
    expect(error.hint).toBe(`${OLD} keeps its state (the stop says nothing about it): \`shipit rollback production --to ${OLD}\` tries again`);
  });

  it('6: a host cannot be put back (its connection drops while switching): the message names it', async () => {
    const result = await deployExit((fleet) => (fleet.host('web2').faults.dropOnActivate = true));
    expect(result.code).toBe(6);
    expect(result.message).toMatch(/hosts not restored: web2/);
    expect(result.hint).toBe('fix the named hosts, then run `shipit status production` and `shipit rollback production`');
  });

  it('6 too without autoRevert: a failed host is left where it failed', async () => {
    const fleet = makeFleet(2, { rollout: { canary: 1, maxParallel: 1, stagger: 0, progressDeadline: 600_000, autoRevert: false } });
    seed(fleet, OLD);
    fleet.host('web1').faults.neverReady = new Set([NEW]);
    const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
    expect(exitOf(catchFinish(outcome))).toBe(6);
    expect(fleet.host('web1').current).toBe(NEW);
  });
});

describe('the final line names what the fleet went to', () => {
  it('a rollback says "rollback to <the release gone back to>" ("rollback of <it>" read as if it were undone)', async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    await deploy(fleet.ctx(), releaseSpec(NEW));
    const lines: string[] = [];
    const renderer: Renderer = { ...silent, info: (line) => lines.push(line) };
    finish(await rollback(fleet.ctx()), 'rollback', 'production', renderer);
    expect(lines.at(-1)).toMatch(new RegExp(`^rollback to ${OLD} succeeded on 2 host\\(s\\) in `));
    const back = makeFleet(2);
    seed(back, OLD);
    await deploy(back.ctx(), releaseSpec(NEW));
    back.host('web1').faults.neverReady = new Set([OLD]);
    const failed = await rollback(back.ctx());
    expect(() => finish(failed, 'rollback', 'production', silent)).toThrow(new RegExp(`^rollback to ${OLD} failed: `));
  });
});

describe('after a rollback that could not put a host back', () => {
  it('the hint names the release it was going to (`--to`), which a lost host did not make bad, so that command works', async () => {
    const OLDER = '20261123T100000Z';
    const fleet = makeFleet(3);
    seed(fleet, OLDER);
    await deploy(fleet.ctx(), releaseSpec(OLD));
    await deploy(fleet.ctx(), releaseSpec(NEW));
    // As on the lab: web2's link is cut while it is being moved back to OLD; web1 is reverted to NEW.
    fleet.host('web2').faults.dropOnActivate = true;
    const failed = await rollback(fleet.ctx());
    expect(failed.result).toBe('failed-inconsistent');
    let error: ShipitError | undefined;
    try {
      finish(failed, 'rollback', 'production', silent);
    } catch (caught) {
      error = caught as ShipitError;
    }
    expect(exitOf(error)).toBe(6);
    expect(error!.hint).toBe(`fix the named hosts, then run \`shipit status production\` and \`shipit rollback production --to ${OLD}\` to finish this rollback`);
    // The target did nothing wrong (a host was lost): it is not marked bad, so that command is not refused.
    fleet.host('web2').faults = {};
    for (const host of fleet.hosts.values()) expect(host.releases.get(OLD)?.meta.state).toBe('good');
    const to = await rollback(fleet.ctx(), OLD);
    expect(to.result).toBe('success');
    for (const host of fleet.hosts.values()) expect(host.current).toBe(OLD);
  });
});

function catchFinish(outcome: Parameters<typeof finish>[0], action: 'deploy' | 'rollback' = 'deploy'): unknown {
  try {
    finish(outcome, action, 'production', silent);
    return null;
  } catch (error) {
    return error;
  }
}
