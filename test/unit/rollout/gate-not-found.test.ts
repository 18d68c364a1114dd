import { deploy } from '../../../src/rollout/deploy.js';
import { makeFleet, releaseSpec, seed } from '../../rollout/fleet.js';

/**
 * A readiness path the app does not serve (a new user's trial: health.readiness '/ready' for an app serving
 * '/readyz') answered 404 for the whole healthyDeadline, a minute, before the revert. A steady 404 now fails the gate
 * after a few seconds, saying which path and what to set; any other not-ready status still has the whole deadline.
 */
const OLD = '20261124T100000Z';
const NEW = '20261125T130000Z';

async function deployAnswering(status: number, preset: 'gunicorn' | 'command' = 'gunicorn') {
  const fleet = makeFleet(2);
  fleet.config.server = { ...fleet.config.server, preset } as typeof fleet.config.server;
  seed(fleet, OLD);
  fleet.host('web1').faults.neverReady = new Set([NEW]);
  fleet.host('web1').faults.notReadyStatus = status;
  const started = fleet.clock.now();
  const outcome = await deploy(fleet.ctx(), releaseSpec(NEW));
  return { outcome, fleet, elapsed: fleet.clock.now() - started };
}

describe('a readiness path the app does not serve', () => {
  it('fails the gate after a few seconds of 404, naming the path and the key to fix, and reverts', async () => {
    const { outcome, fleet, elapsed } = await deployAnswering(404);
    expect(outcome.result).toBe('failed-restored');
    expect(outcome.failure).toBe(
      'GET /readyz answered 404, on every probe for 5s: the app serves no /readyz; set health.readiness to a path it answers 2xx on when ready (or serve that path)',
    );
    expect(fleet.host('web1').current).toBe(OLD);
    // The first probe, then 5 s of 1 s rounds: far from the 60 s deadline (plus the revert's own gate).
    expect(elapsed).toBeLessThan(25_000);
  });

  it('a command of your own may 404 while it starts (a servlet container before its webapp is deployed): the whole healthyDeadline', async () => {
    const { outcome, elapsed } = await deployAnswering(404, 'command');
    expect(outcome.failure).toBe('not ready within 1m: GET /readyz answered 404');
    expect(elapsed).toBeGreaterThanOrEqual(60_000);
  });

  it('a 503 (the app says it is not ready yet) still gets the whole healthyDeadline', async () => {
    const { outcome, elapsed } = await deployAnswering(503);
    expect(outcome.failure).toBe('not ready within 1m: GET /readyz answered 503');
    expect(elapsed).toBeGreaterThanOrEqual(60_000);
  });
});
