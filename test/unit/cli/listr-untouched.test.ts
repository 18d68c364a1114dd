import { Writable } from 'node:stream';
import { ListrLogger, ProcessOutput } from 'listr2';
import { ListrRenderer } from '../../../src/cli/render/listr-renderer.js';
import { createRedactor } from '../../../src/lib/redact.js';
import { deploy } from '../../../src/rollout/deploy.js';
import { rollback } from '../../../src/rollout/rollback.js';
import { makeFleet, releaseSpec, seed } from '../../rollout/fleet.js';

const OLD = '20261124T100000Z';
const NEW = '20261125T130000Z';

/**
 * How each host row of the listr2 tree of a run on the in-memory fleet ended, per phase: `[state, title]`, from
 * listr2's test renderer (the state its TTY renderer draws as ✔, ✖ or ↓).
 */
async function finalRows(run: (renderer: ListrRenderer) => Promise<unknown>, hosts: string[], secrets: string[] = []): Promise<Record<string, [string, string][]>> {
  let text = '';
  const out = new Writable({ write: (chunk, _enc, done) => void ((text += String(chunk)), done()) }) as unknown as NodeJS.WriteStream;
  const renderer = new ListrRenderer(hosts, createRedactor(secrets), {
    renderer: 'test',
    rendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(out, out) }) },
  });
  await run(renderer);
  await renderer.close();
  for (const secret of secrets) expect(text).not.toContain(secret);
  const phases: Record<string, [string, string][]> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const event = JSON.parse(line) as { event: string; data: string; task: { title: string; path: string[] } };
    if (event.event !== 'STATE' || event.task.path.length !== 2 || !['COMPLETED', 'FAILED', 'SKIPPED'].includes(event.data)) continue;
    (phases[event.task.path[0]!] ??= []).push([event.data, event.task.title]);
  }
  for (const rows of Object.values(phases)) rows.sort((a, b) => a[1].localeCompare(b[1]));
  return phases;
}

describe('the listr2 tree: hosts a run did not touch do not read as done', () => {
  it('a failed deploy: the hosts its rollout never reached are skipped, saying they are still on the old release', async () => {
    const fleet = makeFleet(3);
    seed(fleet, OLD);
    fleet.host('web1').faults.crashes = new Set([NEW]);
    const rows = await finalRows((r) => deploy(fleet.ctx({ emit: (e) => r.emit(e) }), releaseSpec(NEW)), ['web1', 'web2', 'web3']);
    expect(rows.rollout).toEqual([
      ['FAILED', `web1: reverted to ${OLD}`],
      ['SKIPPED', `web2: not touched: still on ${OLD} (the rollout stopped before its batch)`],
      ['SKIPPED', `web3: not touched: still on ${OLD} (the rollout stopped before its batch)`],
    ]);
    // Prepare did reach every host: done there.
    expect(rows.prepare!.map(([state]) => state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
  });

  it('a failed first deploy: the hosts it never reached have nothing deployed yet, said so in words', async () => {
    const fleet = makeFleet(3);
    fleet.host('web1').faults.crashes = new Set([NEW]);
    const rows = await finalRows((r) => deploy(fleet.ctx({ emit: (e) => r.emit(e) }), releaseSpec(NEW)), ['web1', 'web2', 'web3']);
    expect(rows.rollout!.slice(1)).toEqual([
      ['SKIPPED', 'web2: not touched: nothing deployed there yet (the rollout stopped before its batch)'],
      ['SKIPPED', 'web3: not touched: nothing deployed there yet (the rollout stopped before its batch)'],
    ]);
  });

  it('a rollback: a host already on the target is skipped as not moved', async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    await deploy(fleet.ctx(), releaseSpec(NEW));
    // web2 alone goes back first: the next rollback moves web1 only.
    await rollback(fleet.ctx({ hosts: new Map([['web2', fleet.host('web2')]]) }));
    const rows = await finalRows((r) => rollback(fleet.ctx({ emit: (e) => r.emit(e) })), ['web1', 'web2']);
    expect(rows.rollout).toEqual([
      ['COMPLETED', `web1: ready on ${OLD} (6s)`],
      ['SKIPPED', `web2: not moved: already on ${OLD}`],
    ]);
  });

  it('never shows a secret: a failing app\'s last lines quoted on its row are redacted, as in plain output', async () => {
    const fleet = makeFleet(2);
    seed(fleet, OLD);
    const secret = 'tok-1234567890-abcdef';
    const rows = await finalRows(
      (r) => {
        r.emit({ type: 'phase.started', phase: 'rollout' });
        r.emit({ type: 'host.failed', host: 'web1', release: NEW, error: `service crashed; the app said: RuntimeError: cannot reach db with token ${secret}` });
        r.emit({ type: 'phase.finished', phase: 'rollout', durationMs: 1 });
        return Promise.resolve();
      },
      ['web1', 'web2'],
      [secret],
    );
    expect(rows.rollout![0]).toEqual(['FAILED', `web1: FAILED on ${NEW}: service crashed; the app said: RuntimeError: cannot reach db with token [redacted]`]);
  });
});
