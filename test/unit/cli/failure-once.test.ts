import { report } from '../../../src/cli/main.js';
import { ListrRenderer } from '../../../src/cli/render/listr-renderer.js';
import { JsonRenderer, PlainRenderer, type Renderer } from '../../../src/cli/render/renderer.js';
import { finish } from '../../../src/cli/session.js';
import { deploy } from '../../../src/rollout/deploy.js';
import { makeFleet, releaseSpec, seed } from '../../rollout/fleet.js';

/**
 * A failed deploy prints each reason once (STYLE.md, habit 4): on the line of the host it happened to, with the
 * final error naming that host; in JSON mode the events and the error on stderr each carry it. Run through the
 * CLI's own rendering (renderer, finish, report) on the in-memory fleet.
 */
const OLD = '20261124T100000Z';
const NEW = '20261125T130000Z';
const at = () => new Date('2026-11-25T13:00:00.000Z');
const count = (text: string, part: string) => text.split(part).length - 1;

async function failedDeploy(
  renderer: Renderer,
  setUp: (fleet: ReturnType<typeof makeFleet>) => void,
  hostCount = 3,
  config: Parameters<typeof makeFleet>[1] = {},
): Promise<{ failure: string; error: string }> {
  const fleet = makeFleet(hostCount, config);
  seed(fleet, OLD);
  setUp(fleet);
  const outcome = await deploy(fleet.ctx({ emit: (event) => renderer.emit(event) }), releaseSpec(NEW));
  let error = '';
  try {
    finish(outcome, 'deploy', 'production', renderer);
  } catch (caught) {
    expect(report(caught, (text) => (error += text))).toBe(5);
  }
  return { failure: outcome.failure!, error };
}

describe('a failed deploy says why once', () => {
  it('plain output: on the failing host\'s line; the revert and the final error name the host, not the reason again', async () => {
    const lines: string[] = [];
    const { failure, error } = await failedDeploy(new PlainRenderer((l) => lines.push(l), at), (fleet) => {
      for (const host of fleet.hosts.values()) host.faults.crashes = new Set([NEW]);
    });
    expect(failure).toMatch(/restarted by systemd/);
    const all = [...lines, error].join('\n');
    expect(count(all, failure)).toBe(1);
    expect(lines).toContain(`2026-11-25T13:00:00.000Z web1       FAILED on ${NEW}: ${failure}`);
    expect(lines).toContain('2026-11-25T13:00:00.000Z rolling back web1 to the release each ran before');
    // The hosts the rollout never reached say so, once, before the rollout's last line.
    const finished = lines.findIndex((l) => / rollout failed, every touched host restored, in /.test(l));
    expect(lines.slice(finished - 2, finished)).toEqual([
      `2026-11-25T13:00:00.000Z web2       not touched: still on ${OLD} (the rollout stopped before its batch)`,
      `2026-11-25T13:00:00.000Z web3       not touched: still on ${OLD} (the rollout stopped before its batch)`,
    ]);
    expect(lines.filter((l) => / not touched: /.test(l))).toHaveLength(2);
    expect(error).toBe(
      `error: deploy of ${NEW} failed: web1 failed (its line above says why)\n` +
        `every host is back on the release it ran before: web1=${OLD} web2=${OLD} web3=${OLD}\n` +
        'hint: the release is marked bad and rollback will never pick it; `shipit logs production --since 10m` shows the service\'s journal from every host\n',
    );
  });

  it('a first deploy that fails and is reverted says no host runs a release, as before (not "web1=(nothing)")', async () => {
    const { error } = await failedDeploy(new PlainRenderer(() => {}, at), (fleet) => {
      for (const host of fleet.hosts.values()) {
        host.current = null;
        host.faults.crashes = new Set([NEW]);
      }
    });
    expect(error.split('\n')[1]).toBe(
      `no host runs a release, as before; the hosts keep ${NEW} (marked bad) in deployTo, with the service user, for inspection (\`shipit releases production\`); its units were removed`,
    );
  });

  it('a failed prepare on a first deploy says no host runs a release yet', async () => {
    const { error } = await failedDeploy(new PlainRenderer(() => {}, at), (fleet) => {
      for (const host of fleet.hosts.values()) host.current = null;
      fleet.host('web1').faults.prepareFails = 'disk full on web1';
    });
    expect(error.split('\n')[1]).toBe(
      'nothing was switched: no host runs a release yet; what this run created on the hosts that held no release of the app (deployTo, the service user) was removed, except a dependency set it built, which the next deploy reuses',
    );
  });

  it('a host cut off by another host of its batch failing says so, not that host\'s reason as its own', async () => {
    const lines: string[] = [];
    const { failure, error } = await failedDeploy(
      new PlainRenderer((l) => lines.push(l), at),
      (fleet) => {
        fleet.host('web1').faults.crashes = new Set([NEW]);
        fleet.host('web2').faults.neverReady = new Set([NEW]);
      },
      2,
      { rollout: { canary: 0, maxParallel: 2, stagger: 0, progressDeadline: 600_000, autoRevert: true } },
    );
    expect(count([...lines, error].join('\n'), failure)).toBe(1);
    expect(lines).toContain(`2026-11-25T13:00:00.000Z web1       FAILED on ${NEW}: ${failure}`);
    expect(lines).toContain(`2026-11-25T13:00:00.000Z web2       FAILED on ${NEW}: stopped: web1 failed`);
    expect(error).toMatch(/^error: deploy of \S+ failed: web1 failed \(its line above says why\)$/m);
  });

  it('a failed prepare: each host\'s reason on its line, the error names the hosts', async () => {
    const lines: string[] = [];
    const { error } = await failedDeploy(new PlainRenderer((l) => lines.push(l), at), (fleet) => {
      fleet.host('web1').faults.prepareFails = 'disk full on web1';
      fleet.host('web3').faults.prepareFails = 'disk full on web3';
    });
    const all = [...lines, error].join('\n');
    expect(count(all, 'disk full on web1')).toBe(1);
    expect(count(all, 'disk full on web3')).toBe(1);
    // The line starts with the host: the reason does not name it again (`web1  prepare failed: web1: …`).
    expect(lines).toContain('2026-11-25T13:00:00.000Z web1       prepare failed: disk full on web1');
    expect(lines).toContain('2026-11-25T13:00:00.000Z web3       prepare failed: disk full on web3');
    // Nothing moved: the error says so, not that the hosts are "back on" what they ran.
    expect(error.split('\n').slice(0, 2)).toEqual([`error: deploy of ${NEW} failed: prepare failed on web1, web3 (their lines above say why)`, `nothing was switched: every host still runs ${OLD}`]);
    expect(error).not.toMatch(/back on/);
  });

  it('a failed prepare on hosts that run different releases names each one', async () => {
    const { error } = await failedDeploy(new PlainRenderer(() => {}, at), (fleet) => {
      fleet.host('web2').current = null;
      fleet.host('web1').faults.prepareFails = 'disk full on web1';
    });
    expect(error).toMatch(new RegExp(`^nothing was switched: every host still runs what it ran: web1=${OLD} web2=none web3=${OLD}$`, 'm'));
  });

  it('--json: a failed prepare\'s error says why and that nothing was switched', async () => {
    const { error } = await failedDeploy(new JsonRenderer(() => {}, () => {}, at), (fleet) => {
      fleet.host('web1').faults.prepareFails = 'disk full on web1';
    });
    expect(error.split('\n').slice(0, 2)).toEqual([`error: deploy of ${NEW} failed: prepare failed: web1: disk full on web1`, `nothing was switched: every host still runs ${OLD}`]);
  });

  it('--json: the events keep every reason (host.failed, rollback.started) and the error on stderr says it', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const { failure, error } = await failedDeploy(new JsonRenderer((l) => out.push(l), (l) => err.push(l), at), (fleet) => {
      for (const host of fleet.hosts.values()) host.faults.crashes = new Set([NEW]);
    });
    const events = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.find((e) => e.type === 'host.failed')).toMatchObject({ host: 'web1', release: NEW, error: failure });
    expect(events.find((e) => e.type === 'rollback.started')).toMatchObject({ reason: failure, hosts: ['web1'] });
    expect(error).toMatch(new RegExp(`^error: deploy of ${NEW} failed: ${failure.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(err).toEqual([]);
  });

  it('the listr2 tree keeps a failed host\'s reason on its row (as its error), so the final error names the host there too', () => {
    expect(new ListrRenderer([]).showsEvents).toBe(true);
    expect(new PlainRenderer(() => {}).showsEvents).toBe(true);
    expect(new JsonRenderer(() => {}, () => {}).showsEvents).toBe(false);
  });
});
