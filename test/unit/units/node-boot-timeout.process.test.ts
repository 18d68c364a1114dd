/**
 * The node unit's SHIPIT_BOOT_TIMEOUT on a real runtime: a release whose ready() never settles must make the
 * runtime exit 3 with its own reason ("not serving after N ms") before the deploy's restart limit for the same
 * healthyDeadline, so that reason is what the deploy reports, not "did not finish restarting".
 */
import { restartLimitSeconds } from '../../../src/remote/scripts.js';
import { RuntimeExit } from '../../../src/runtime/exit-codes.js';
import { renderService } from '../../../src/units/render.js';
import { startRuntime, type RuntimeProcess } from '../runtime/harness.js';
import { resolvedConfig } from './fixtures.js';

let runtime: RuntimeProcess | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

it("a worker whose ready() hangs makes the runtime exit 3, naming the boot timeout, within the deploy's restart limit", async () => {
  const healthyDeadlineMs = 10_000;
  const service = renderService(resolvedConfig({ preset: 'node', module: 'server.js' }, { health: { healthyDeadline: '10s', minHealthyTime: '1s' } }));
  const bootTimeout = /^Environment=SHIPIT_BOOT_TIMEOUT=(\S+)$/m.exec(service)?.[1];
  expect(bootTimeout).toBeDefined();
  const restartLimitMs = Number(restartLimitSeconds(healthyDeadlineMs)) * 1000; // 7.5 s

  const started = Date.now();
  // Worker 1's ready() settles after 10 minutes: a hung start; worker 2 is fine.
  runtime = startRuntime({ env: { SHIPIT_BOOT_TIMEOUT: bootTimeout, FIXTURE_READY_DELAY_MS_1: '600000' } });
  const { code } = await runtime.exited;
  const elapsedMs = Date.now() - started;

  expect(code).toBe(RuntimeExit.workerBootFailed);
  const halting = runtime.lines.find((l) => String(l.msg).startsWith('halting:'));
  expect(halting?.msg).toBe(`halting: worker failed to boot: not serving after ${Math.round(Number(bootTimeout) * 1000)} ms`);
  // The whole process, node's own start included, was done before `timeout` would have cut the restart off.
  expect(elapsedMs).toBeLessThan(restartLimitMs);
}, 20_000);
